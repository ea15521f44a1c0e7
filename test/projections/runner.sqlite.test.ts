import { openSqliteRunnerEnvironment } from './runner-environments.js';
import { describeRunnerScenarios } from './runner-scenarios.js';

describeRunnerScenarios('SQLite', openSqliteRunnerEnvironment);
