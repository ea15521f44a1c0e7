import { describeBlueGreenScenarios } from './blue-green-scenarios.js';
import { openMariaDbRunnerEnvironment } from './runner-environments.js';

describeBlueGreenScenarios('MariaDB', () => openMariaDbRunnerEnvironment('t_bluegreen'));
