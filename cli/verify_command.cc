// podtape verify [SESSION...] [--key PUBKEY] [-o table|json]
//
// Recomputes each session's hash chain, chain head, frame count and seal (store::CheckSession)
// and, with --key, its Ed25519 signature. One line per session:
//   intact    sealed, and every frame, the count and the seal match (and, with --key, the
//             signature verifies under that key);
//   unsealed  the chain is intact but the session has no seal yet: it is running, or it was
//             interrupted (crash, kill); what verify cannot prove about those is in
//             schema/README.md;
//   tampered  a frame, the head, the count, the seal or the signature does not match; the detail
//             names the first frame (seq) or the field that differs;
//   unsigned  (only with --key) sealed and intact, but carries no signature.
// Exit 0 when every session is intact or unsealed, 3 when any is tampered or unsigned, 1 on error.
// A running session is checked up to the frames committed so far: its head and count move while
// it is read, so only the chain itself is compared.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"
#include "player/output.h"
#include "player/session_list.h"
#include "schema/signing.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

constexpr int kExitTampered = 3;

struct VerifyOptions {
  std::vector<std::string> sessions;
  std::string key_path;
  std::string output = "table";
};

struct Verdict {
  std::string id, short_id, state, detail;
  int64_t frames = 0;
};

Verdict Judge(const store::SessionRow& row, const store::SessionCheck& c,
              const store::Ed25519Key* key) {
  Verdict v{row.meta.id, row.short_id, "", "", c.frames_read};
  const bool running = !row.ended && row.end_reason == "running";
  if (c.first_bad_seq) {
    v.state = "tampered";
    v.detail = c.problem;
  } else if (running) {
    v.state = "unsealed";
    v.detail = "running: the chain is intact so far; no seal until it ends";
  } else if (!c.head_matches || !c.count_matches) {
    v.state = "tampered";
    v.detail = c.problem;
  } else if (!c.sealed) {
    if (row.ended) {
      v.state = "tampered";
      v.detail = "the session ended but its seal was removed";
    } else {
      v.state = "unsealed";
      v.detail = "interrupted: the chain is intact but the session was never sealed";
    }
  } else if (!c.seal_matches) {
    v.state = "tampered";
    v.detail =
        "the seal does not match the session's recorded fields (pod, user, command, exit code, "
        "times or another sealed field was changed)";
  } else if (key != nullptr) {
    if (row.signature.empty()) {
      v.state = "unsigned";
      v.detail = "sealed and intact, but carries no signature";
    } else if (!key->Verify(*row.seal, row.signature)) {
      v.state = "tampered";
      v.detail = "the signature does not verify under key " + key->fingerprint().substr(0, 16) +
                 ": signed by another key, or the seal was rewritten";
    } else {
      v.state = "intact";
      v.detail = "sealed, signature verified (key " + key->fingerprint().substr(0, 16) + ")";
    }
  } else {
    v.state = "intact";
    v.detail = row.signature.empty() ? "sealed" : "sealed and signed (give --key to check it)";
  }
  return v;
}

Result<int> RunVerify(const VerifyOptions& o, const Globals& globals) {
  if (o.output != "table" && o.output != "json") {
    return Status::InvalidArgument("unknown output format '" + o.output + "': use table or json");
  }
  std::shared_ptr<const store::Ed25519Key> key;
  if (!o.key_path.empty()) {
    auto k = store::Ed25519Key::LoadPublic(o.key_path);
    if (!k.ok()) return k.status().WithContext("--key");
    key = *k;
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();

  std::vector<store::SessionRow> rows;
  if (o.sessions.empty()) {
    auto all = (*store)->List({});
    if (!all.ok()) return all.status();
    rows = std::move(*all);
  } else {
    for (const std::string& ref : o.sessions) {
      auto row = (*store)->Find(ref);
      if (!row.ok()) return row.status();
      rows.push_back(std::move(*row));
    }
  }

  std::vector<Verdict> verdicts;
  verdicts.reserve(rows.size());
  for (const store::SessionRow& row : rows) {
    auto check = store::CheckSession(**store, row);
    if (!check.ok()) {
      if (check.status().code() != Status::Code::kCorruption) {
        return check.status().WithContext("verifying session " + row.short_id);
      }
      // A stored frame that no longer decodes was edited.
      verdicts.push_back({row.meta.id, row.short_id, "tampered", check.status().message(), 0});
      continue;
    }
    verdicts.push_back(Judge(row, *check, key.get()));
  }

  int rc = 0;
  for (const Verdict& v : verdicts) {
    if (v.state == "tampered" || v.state == "unsigned") rc = kExitTampered;
  }
  std::string text;
  if (o.output == "json") {
    boost::json::array arr;
    for (const Verdict& v : verdicts) {
      arr.push_back(boost::json::object{{"id", v.id},
                                        {"short_id", v.short_id},
                                        {"state", v.state},
                                        {"frames", v.frames},
                                        {"detail", v.detail}});
    }
    text = boost::json::serialize(arr) + "\n";
  } else {
    size_t w = 7;
    for (const Verdict& v : verdicts) w = std::max(w, v.short_id.size());
    auto pad = [](std::string s, size_t n) {
      if (s.size() < n) s.append(n - s.size(), ' ');
      return s;
    };
    text = pad("SESSION", w) + "  " + pad("STATE", 8) + "  " + pad("FRAMES", 7) + "  DETAIL\n";
    for (const Verdict& v : verdicts) {
      text += pad(v.short_id, w) + "  " + pad(v.state, 8) + "  " +
              pad(std::to_string(v.frames), 7) + "  " + player::EscapeForTerminal(v.detail) + "\n";
    }
  }
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(out.Write(text));
  PODTAPE_RETURN_IF_ERROR(out.Flush());
  return rc;
}

}  // namespace

void RegisterVerify(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "check that recorded sessions were not edited: hash chain, seal and signature; exit 3 "
      "when any was");
  cmd->add_option("session", o->sessions,
                  "sessions to check: id, short id or 'last' (default: all)")
      ->type_name("SESSION");
  cmd->add_option("--key", o->key_path,
                  "Ed25519 public key (PEM) the seals must be signed with; an unsigned session "
                  "then fails")
      ->type_name("PUBKEY");
  cmd->add_option("-o,--output", o->output, "output format: table or json")->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunVerify(*o, globals); }; });
}

}  // namespace podtape::cli
