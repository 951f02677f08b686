// A trigram full-text index over people's names, aliases and e-mail addresses, so that "search while
// typing" answers from an index instead of reading every person (100k on a large site). Kept up to date
// by triggers; case and diacritics are ignored (typing "zoe" finds "Zoë").
import type { Migration } from './index.ts';

const TEXT = (r: string) => `${r}.first_name || ' ' || ${r}.last_name || ' ' || coalesce(${r}.alias, '') || ' ' || coalesce(${r}.email, '')`;

export const migration0030: Migration = {
  version: 30,
  name: 'people-search',
  up(db) {
    db.exec(`
      CREATE VIRTUAL TABLE users_search USING fts5(text, content = '', contentless_delete = 1, tokenize = 'trigram remove_diacritics 1');
      INSERT INTO users_search (rowid, text) SELECT pk, ${TEXT('users')} FROM users;
      CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_search (rowid, text) VALUES (new.pk, ${TEXT('new')});
      END;
      CREATE TRIGGER users_search_update AFTER UPDATE OF first_name, last_name, alias, email ON users BEGIN
        DELETE FROM users_search WHERE rowid = old.pk;
        INSERT INTO users_search (rowid, text) VALUES (new.pk, ${TEXT('new')});
      END;
      CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
        DELETE FROM users_search WHERE rowid = old.pk;
      END;
    `);
  },
};
