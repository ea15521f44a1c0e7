import { exportCliScenarios } from '../reports/export-cli.scenarios.js';

exportCliScenarios('sqlite');
