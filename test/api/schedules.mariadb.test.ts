import { scheduleScenarios } from './schedules.scenarios.js';

scheduleScenarios('mariadb');
