import { describeRebuildCli } from './rebuild-scenarios.js';

describeRebuildCli('sqlite');
