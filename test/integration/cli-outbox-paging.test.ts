import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataFolder } from '../../main/core/storage/data-folder.ts';
import { Journal } from '../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../main/core/storage/secret-box.ts';
import { runStation as station } from '../helpers/station-cli.ts';

/** A data folder whose outbox holds `calls` waiting calls (one unit, so they stay in order), the last one failed. */
async function folderWithBacklog(calls: number): Promise<{ dir: string; ids: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-paging-'));
  const journal = Journal.open(dataFolder(dir).journal, new SecretBox(await loadOrCreateKeyFile(dir)));
  try {
    const unit = journal.startUnit('PAGED0001', '/dev/ttyUSB0');
    const ids = Array.from({ length: calls }, (_, i) => journal.enqueue(unit.id, 'gadgetkeeper', i % 2 === 0 ? 'activate' : 'confirm', { versionId: `v${i}` }).id);
    journal.markFailed(ids.at(-1)!, 'refused by the cloud');
    journal.finishUnit(unit.id, 'pending');
    return { dir, ids };
  } finally {
    journal.close();
  }
}

describe('station outbox list on a large backlog', () => {
  it('lists every waiting call, past the 10,000 the old single query stopped at, oldest first', { timeout: 120_000 }, async () => {
    const { dir, ids } = await folderWithBacklog(10_050);
    try {
      const list = await station(['outbox', 'list', '--json', '--data-dir', dir]);
      expect(list.code, list.stderr).toBe(0);
      const entries = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; state: string; lastError: string | null });
      expect(entries).toHaveLength(ids.length);
      expect(entries.map((entry) => entry.id)).toEqual(ids);
      expect(entries.at(-1)).toMatchObject({ state: 'failed', lastError: 'refused by the cloud' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the journal pages the outbox', () => {
  it('returns at most a page of rows per query, and the pages together hold every call not yet done, once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-pages-'));
    const journal = Journal.open(join(dir, 'journal.sqlite'), new SecretBox(Buffer.alloc(32, 7)));
    try {
      const unit = journal.startUnit('PAGED0002', '/dev/ttyUSB0');
      const ids = Array.from({ length: 25 }, () => journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {}).id);
      // A done call is not listed.
      journal.markDone(ids[3]!);
      const pages: number[][] = [];
      for (let afterId = 0; ; ) {
        const page = journal.outboxEntries({ afterId, limit: 10 });
        if (page.length === 0) break;
        pages.push(page.map((entry) => entry.id));
        afterId = page.at(-1)!.id;
      }
      expect(pages.map((page) => page.length)).toEqual([10, 10, 4]);
      expect(pages.flat()).toEqual(ids.filter((id) => id !== ids[3]));
    } finally {
      journal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
