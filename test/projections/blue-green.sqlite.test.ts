import { describeBlueGreenScenarios } from './blue-green-scenarios.js';
import { openSqliteRunnerEnvironment } from './runner-environments.js';

describeBlueGreenScenarios('SQLite', openSqliteRunnerEnvironment);
