import { reportCliScenarios } from '../reports/report-cli.scenarios.js';

reportCliScenarios('sqlite');
