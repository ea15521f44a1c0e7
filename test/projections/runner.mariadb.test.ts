import { openMariaDbRunnerEnvironment } from './runner-environments.js';
import { describeRunnerScenarios } from './runner-scenarios.js';

describeRunnerScenarios('MariaDB', () => openMariaDbRunnerEnvironment('t_projections'));
