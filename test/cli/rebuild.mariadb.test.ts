import { describeRebuildCli } from './rebuild-scenarios.js';

// MariaDB is part of the product: these fail (never skip) when it cannot be reached.
describeRebuildCli('mariadb');
