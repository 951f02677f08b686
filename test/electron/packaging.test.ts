// The packaging configuration (electron-builder.yml, build/linux/): the pieces docs/desktop.md promises
// are there, and the .deb scripts survive electron-builder's template step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// electron-builder's own loader and schema check (app-builder-lib is the engine of the electron-builder
// devDependency; it has no exports map, so its modules are importable as files).
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util/out/DebugLogger.js';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const loaded = await getConfig(root, join(root, 'electron-builder.yml'), null);
const config = loaded as unknown as Record<string, Record<string, unknown> & unknown[]>;

describe('electron-builder.yml', () => {
  it('is valid for electron-builder (its JSON schema)', async () => {
    await expect(validateConfiguration(loaded, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('names the app and builds deb, AppImage, nsis and dmg from out/electron', () => {
    expect(config.productName).toBe('Gatehouse');
    expect(config.appId).toBe('app.gatehouse.desktop');
    expect(config.linux!.target).toEqual(['deb', 'AppImage']);
    expect(config.win!.target).toEqual(['nsis']);
    expect(config.mac!.target).toEqual(['dmg']);
    expect(JSON.stringify(config.files)).toContain('"out/electron/**/*"');
    expect(config.extraMetadata).toMatchObject({ main: 'out/electron/main/index.js' });
    expect(JSON.parse(read('package.json')).main).toBe('out/electron/main/index.js');
  });

  it('keeps native modules out of the asar archive', () => {
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/*.node', 'node_modules/better-sqlite3/**', 'node_modules/usb/**']));
  });

  it('turns off the fuses that would let someone run the binary as plain Node', () => {
    expect(config.electronFuses).toMatchObject({ runAsNode: false, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false, onlyLoadAppFromAsar: true });
  });

  it('ships the udev rules and installs them from the .deb scripts', () => {
    expect(config.linux!.extraResources).toEqual([{ from: 'build/linux/70-gatehouse.rules', to: 'udev/70-gatehouse.rules' }]);
    expect(config.deb).toMatchObject({ afterInstall: 'build/linux/after-install.sh', afterRemove: 'build/linux/after-remove.sh' });
    const install = read('build/linux/after-install.sh');
    expect(install).toContain("/opt/${sanitizedProductName}/resources/udev/70-gatehouse.rules");
    expect(install).toContain('/etc/udev/rules.d/70-gatehouse.rules');
    expect(install).toContain('udevadm control --reload-rules');
    // It replaces electron-builder's default script, so it must keep that script's duties.
    expect(install).toContain('chrome-sandbox');
    expect(install).toContain("update-alternatives --install '/usr/bin/${executable}'");
    expect(read('build/linux/after-remove.sh')).toContain('rm -f /etc/udev/rules.d/70-gatehouse.rules');
  });

  it('uses only the template macros electron-builder defines (an unknown one fails the build)', () => {
    for (const file of ['build/linux/after-install.sh', 'build/linux/after-remove.sh']) {
      const macros = new Set([...read(file).matchAll(/\$\{([a-zA-Z]+)\}/g)].map((m) => m[1]));
      expect([...macros].sort(), file).toEqual(['executable', 'sanitizedProductName']);
    }
  });
});

describe('the udev rules', () => {
  const rules = read('build/linux/70-gatehouse.rules')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));

  it('cover the ACR122U-class encoder and the placeholder IQ hub, for the seat user and plugdev', () => {
    const ids = rules.map((r) => `${/idVendor}=="(\w+)"/.exec(r)?.[1]}:${/idProduct}=="(\w+)"/.exec(r)?.[1]}`);
    expect(ids).toEqual(['072f:2200', '1209:000c']);
    for (const r of rules) {
      expect(r).toContain('SUBSYSTEM=="usb"');
      expect(r).toContain('TAG+="uaccess"');
      expect(r).toContain('MODE="0660"');
    }
  });
});
