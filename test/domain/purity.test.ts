import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const domainDir = fileURLToPath(new URL('../../src/domain/', import.meta.url));

/** The domain reads no clock and does no I/O: time comes in commands. */
describe('src/domain is pure', () => {
  const files = readdirSync(domainDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'));

  it('has files to check', () => assert.ok(files.length > 0));

  for (const file of files) {
    it(file, () => {
      const source = readFileSync(join(domainDir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(source, /Date\.now\s*\(/, 'Date.now()');
      assert.doesNotMatch(source, /new Date\s*\(\s*\)/, 'new Date() without argument');
      assert.doesNotMatch(source, /performance\.now|Math\.random|process\.hrtime/, 'clock or randomness');
      assert.doesNotMatch(source, /from ['"](node:)?(fs|fs\/promises|net|http|https|child_process|dgram)['"]/, 'I/O module');
    });
  }
});
