import { groupAndVmScenarios } from './groups-and-vms.scenarios.js';

groupAndVmScenarios('sqlite');
