import { executionScenarios } from './executions.scenarios.js';

executionScenarios('sqlite');
