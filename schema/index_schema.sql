-- podtape search index schema (SQLite), in its own file beside the store: `<store>.index` (the
-- store's real path plus ".index"). schema/README.md "The command index" documents it. Derived
-- from the store's frames, covered by no chain or seal, rebuilt at will: deleting the file loses
-- nothing but the time to build it again. Its rows name sessions by the store's session_key and,
-- so that a key the store gives out again after a prune never matches old rows, by their id.
--
-- Migrations: as in schema.sql, a list of steps each starting with a line "-- version N"; never
-- edit a released step.

-- version 1
CREATE TABLE index_lines (
  id          INTEGER PRIMARY KEY,
  session_key INTEGER NOT NULL,  -- the store's sessions.session_key
  t_ns        INTEGER NOT NULL,  -- session time (ns) of the command's Enter or the line's output
  kind        INTEGER NOT NULL,  -- 0 command, 1 rendered output line
  text        TEXT NOT NULL
);
CREATE INDEX index_lines_session ON index_lines(session_key, kind, t_ns);
-- Commands: trigrams, so any substring is found. Output lines: words (unicode61), about a third
-- of the trigram index's size and time to build. columnsize=0: no per-row token counts (they
-- serve only ranking, which search does not do).
CREATE VIRTUAL TABLE index_fts USING fts5(text, content='index_lines', content_rowid='id',
                                          tokenize='trigram', columnsize=0);
CREATE VIRTUAL TABLE output_fts USING fts5(text, content='index_lines', content_rowid='id',
                                           tokenize='unicode61', columnsize=0);
CREATE TRIGGER index_lines_ai AFTER INSERT ON index_lines WHEN new.kind = 0 BEGIN
  INSERT INTO index_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER index_lines_ad AFTER DELETE ON index_lines WHEN old.kind = 0 BEGIN
  INSERT INTO index_fts(index_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER output_lines_ai AFTER INSERT ON index_lines WHEN new.kind = 1 BEGIN
  INSERT INTO output_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER output_lines_ad AFTER DELETE ON index_lines WHEN old.kind = 1 BEGIN
  INSERT INTO output_fts(output_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- Sessions whose index rows are complete (indexed once ended).
CREATE TABLE indexed_sessions (
  session_key   INTEGER PRIMARY KEY,  -- the store's sessions.session_key
  session_id    TEXT NOT NULL,        -- the store's sessions.id
  indexed_at_ns INTEGER NOT NULL      -- Unix UTC ns
);
