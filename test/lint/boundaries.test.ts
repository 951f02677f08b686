// The layer rules are only worth something if the linter really fails on a violation: feed it code
// that breaks each rule, as if it lived in each layer, and expect the error.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function errors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer boundaries are enforced by lint', () => {
  it.each([
    ['core/x.ts', "import { a } from '../drivers/hub.ts';\nexport const b = a;"],
    ['core/access/x.ts', "import { a } from '../../electron/main/index.ts';\nexport const b = a;"],
    ['core/x.ts', "import { a } from '../renderer/store.ts';\nexport const b = a;"],
    ['core/x.ts', "import { app } from 'electron';\nexport const b = app;"],
    ['core/x.ts', "import { usb } from 'usb';\nexport const b = usb;"],
    ['core/x.ts', 'export const w = window.location.href;'],
    ['drivers/hub/x.ts', "import { a } from '../../core/access/decide.ts';\nexport const b = a;"],
    ['drivers/x.ts', "import { ref } from 'vue';\nexport const b = ref;"],
    ['renderer/x.ts', "import Database from 'better-sqlite3';\nexport const b = Database;"],
    ['renderer/x.ts', "import { readFileSync } from 'node:fs';\nexport const b = readFileSync;"],
    ['renderer/x.ts', "import { decide } from '../core/access/decide.ts';\nexport const b = decide;"],
    ['renderer/x.ts', "import { usb } from 'usb';\nexport const b = usb;"],
  ])('%s: %s is refused', async (file, code) => {
    expect((await errors(file, code)).some((e) => e.startsWith('no-restricted-'))).toBe(true);
  });

  it.each([
    ['core/x.ts', "import { z } from 'zod';\nexport const b = z;"],
    ['drivers/x.ts', "import { EventEmitter } from 'node:events';\nexport const b = EventEmitter;"],
    ['renderer/x.ts', "import { contract } from '../core/contract/index.ts';\nexport const b = contract;"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await errors(file, code)).toEqual([]);
  });
});
