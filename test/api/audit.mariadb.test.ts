import { auditScenarios } from './audit.scenarios.js';

auditScenarios('mariadb');
