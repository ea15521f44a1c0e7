import { concurrencyScenarios } from './concurrency.scenarios.js';

concurrencyScenarios('sqlite');
