import { executionScenarios } from './executions.scenarios.js';

executionScenarios('mariadb');
