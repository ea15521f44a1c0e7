import { scheduleScenarios } from './schedules.scenarios.js';

scheduleScenarios('sqlite');
