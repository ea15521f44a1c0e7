import { reportApiScenarios } from '../reports/reports-api.scenarios.js';

reportApiScenarios('mariadb');
