-- podtape store schema (SQLite). schema/README.md documents every table and column, the hash
-- chain and the seal.
--
-- Migrations: this file is a list of steps, each starting with a line "-- version N". Opening a
-- file whose PRAGMA user_version is V runs every step N > V in order, each in its own
-- transaction that ends by setting user_version = N. Never edit a released step: add a new one.

-- version 1
CREATE TABLE sessions (
  session_key        INTEGER PRIMARY KEY,  -- small key the frames refer to
  id                 TEXT NOT NULL UNIQUE, -- UUIDv7 text
  kind               TEXT NOT NULL,        -- exec | attach | import
  started_at_ns      INTEGER NOT NULL,     -- Unix UTC ns
  ended_at_ns        INTEGER,              -- Unix UTC ns; NULL until ended
  end_reason         TEXT,                 -- completed | error; NULL until ended
  error              TEXT,
  exit_code          INTEGER,
  raw_status         BLOB,
  close_code         INTEGER,
  close_reason       TEXT,
  server             TEXT NOT NULL DEFAULT '',
  cluster            TEXT NOT NULL DEFAULT '',
  context            TEXT NOT NULL DEFAULT '',
  namespace          TEXT NOT NULL DEFAULT '',
  pod                TEXT NOT NULL DEFAULT '',
  container          TEXT NOT NULL DEFAULT '',
  command            TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
  tty                INTEGER NOT NULL DEFAULT 0,
  stdin              INTEGER NOT NULL DEFAULT 0,
  protocol           TEXT NOT NULL DEFAULT '',
  term_cols          INTEGER NOT NULL DEFAULT 0,
  term_rows          INTEGER NOT NULL DEFAULT 0,
  term_type          TEXT NOT NULL DEFAULT '',
  title              TEXT NOT NULL DEFAULT '',
  user               TEXT NOT NULL DEFAULT '',
  groups             TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
  user_source        TEXT NOT NULL DEFAULT 'none',
  kube_user          TEXT NOT NULL DEFAULT '',
  as_user            TEXT NOT NULL DEFAULT '',
  as_groups          TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
  local_user         TEXT NOT NULL DEFAULT '',
  host               TEXT NOT NULL DEFAULT '',
  recorder_version   TEXT NOT NULL DEFAULT '',
  recording_complete INTEGER NOT NULL DEFAULT 1,
  frames             INTEGER NOT NULL DEFAULT 0,  -- frames committed
  bytes              INTEGER NOT NULL DEFAULT 0,  -- stdout+stderr payload bytes committed
  chain_head         BLOB,                        -- hash of the last committed frame
  seal               BLOB,                        -- set when ended
  signature          BLOB,                        -- Ed25519 signature of seal, optional
  live_slot          INTEGER                      -- byte of <db>.live its writer locks
);
CREATE INDEX sessions_started ON sessions(started_at_ns);
CREATE INDEX sessions_tail ON sessions(substr(id, 25));
CREATE INDEX sessions_live ON sessions(live_slot) WHERE live_slot IS NOT NULL;

CREATE TABLE frames (
  session_key INTEGER NOT NULL,  -- sessions.session_key
  seq         INTEGER NOT NULL,  -- 0, 1, 2 ... per session
  t_ns        INTEGER NOT NULL,  -- ns since session start (monotonic)
  direction   INTEGER NOT NULL,  -- 0 to server, 1 from server
  channel     INTEGER NOT NULL,  -- 0 stdin 1 stdout 2 stderr 3 status 4 resize 255 close
  codec       INTEGER NOT NULL DEFAULT 0,  -- 0 raw payload (1 = zstd, later)
  payload     BLOB NOT NULL,
  hash        BLOB NOT NULL      -- SHA-256 chain hash
);
CREATE UNIQUE INDEX frames_session_seq ON frames(session_key, seq);

-- version 2
-- The command and output index (podtape search, audit; player/command_index.h says what a
-- command is). Derived from the frames: not covered by the chain or the seal, rebuilt at will.
CREATE TABLE index_lines (
  id          INTEGER PRIMARY KEY,
  session_key INTEGER NOT NULL,  -- sessions.session_key
  t_ns        INTEGER NOT NULL,  -- session time (ns) of the command's Enter or the line's output
  kind        INTEGER NOT NULL,  -- 0 command, 1 rendered output line
  text        TEXT NOT NULL
);
CREATE INDEX index_lines_session ON index_lines(session_key, kind, t_ns);
CREATE VIRTUAL TABLE index_fts USING fts5(text, content='index_lines', content_rowid='id',
                                          tokenize='trigram');
CREATE TRIGGER index_lines_ai AFTER INSERT ON index_lines BEGIN
  INSERT INTO index_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER index_lines_ad AFTER DELETE ON index_lines BEGIN
  INSERT INTO index_fts(index_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- Sessions whose index rows are complete (indexed once ended).
CREATE TABLE indexed_sessions (
  session_key INTEGER PRIMARY KEY,  -- sessions.session_key
  indexed_at_ns INTEGER NOT NULL    -- Unix UTC ns
);

-- version 3
-- The search index moves to its own file beside the store (<store>.index, schema/index_schema.sql),
-- so that building it never holds the store's write lock while a recorder writes. It is derived
-- data: it is rebuilt there on the next `index`, `search` or `audit`.
DROP TRIGGER index_lines_ai;
DROP TRIGGER index_lines_ad;
DROP TABLE index_fts;
DROP TABLE index_lines;
DROP TABLE indexed_sessions;
