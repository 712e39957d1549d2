// The channel codec. Wire rules: recorder/PROTOCOL.md (summary) and ../shared/PROTOCOL.md.
#include "recorder/channel_codec.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/static_resource.hpp>
#include <boost/json/value.hpp>

namespace podtape::codec {
namespace {

constexpr std::string_view kNameV1 = "channel.k8s.io";
constexpr std::string_view kNameV1Base64 = "base64.channel.k8s.io";
constexpr std::string_view kNameV4 = "v4.channel.k8s.io";
constexpr std::string_view kNameV4Base64 = "v4.base64.channel.k8s.io";
constexpr std::string_view kNameV5 = "v5.channel.k8s.io";
constexpr std::string_view kBearerPrefix = kBearerProtocolPrefix;
constexpr std::string_view kKnownList =
    "v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io, channel.k8s.io, "
    "base64.channel.k8s.io";
// The server builds exactly 5 channels (0-4); see PROTOCOL.md 2.1.
constexpr unsigned kNumChannels = 5;
constexpr std::string_view kUnknownChannel = "unknown channel ";

// What error messages call a protocol: its header name, or "(none)" for no header.
std::string_view DisplayName(Subprotocol p) {
  return p == Subprotocol::kNone ? std::string_view("(none)") : SubprotocolName(p);
}

// Quotes untrusted bytes for a one-line error message: printable ASCII kept, '"' and '\'
// escaped, everything else as \xNN; at most `max` input bytes, then "...".
std::string Quote(std::string_view text, size_t max = 64) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += '"';
  if (text.size() > max) out += "...";
  return out;
}

// Go's strings.TrimSpace for the ASCII whitespace that can occur in a header value.
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

// Calls f(entry) for each ','-separated entry of `list`, trimmed; f returns false to stop.
template <typename F>
void ForEachEntry(std::string_view list, F&& f) {
  while (true) {
    size_t comma = list.find(',');
    if (!f(Trim(list.substr(0, comma)))) return;
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

bool IsBearerEntry(std::string_view entry) { return entry.starts_with(kBearerPrefix); }

// An entry safe to print: bearer-token entries never reach a message.
std::string PrintableEntry(std::string_view entry) {
  if (IsBearerEntry(entry)) return Quote(std::string(kBearerPrefix) + "<redacted>");
  return Quote(entry);
}

// --- base64 (RFC 4648 section 4, standard alphabet, padded) ---

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 6-bit value of each byte; 0x80 marks a byte outside the alphabet (including '=').
constexpr std::array<uint8_t, 256> MakeB64Table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0x80;
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64Alphabet[i])] = i;
  return t;
}
constexpr std::array<uint8_t, 256> kB64Table = MakeB64Table();

// The same value pre-shifted for each position of a quad; kB64Bad (bit 24) marks a bad byte, so
// OR-ing the four lookups gives the 24 decoded bits and, in bit 24, whether any byte was bad.
constexpr uint32_t kB64Bad = 1u << 24;
constexpr std::array<uint32_t, 256> MakeShiftedTable(int shift) {
  std::array<uint32_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = kB64Table[c] & 0x80 ? kB64Bad : uint32_t{kB64Table[c]} << shift;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kB64D0 = MakeShiftedTable(18);
constexpr std::array<uint32_t, 256> kB64D1 = MakeShiftedTable(12);
constexpr std::array<uint32_t, 256> kB64D2 = MakeShiftedTable(6);
constexpr std::array<uint32_t, 256> kB64D3 = MakeShiftedTable(0);

// Two output characters for each 12-bit group, as little-endian uint16 (first char low byte).
constexpr std::array<uint16_t, 4096> MakePairTable() {
  std::array<uint16_t, 4096> t{};
  for (int v = 0; v < 4096; ++v) {
    t[v] = static_cast<uint16_t>(static_cast<unsigned char>(kB64Alphabet[v >> 6]) |
                                 static_cast<unsigned char>(kB64Alphabet[v & 63]) << 8);
  }
  return t;
}
constexpr std::array<uint16_t, 4096> kB64Pairs = MakePairTable();

inline void StorePair(char* d, uint32_t twelve_bits) {
  const uint16_t pair = kB64Pairs[twelve_bits];
  d[0] = static_cast<char>(pair & 0xff);
  d[1] = static_cast<char>(pair >> 8);
}

// Four output characters for 24 bits.
inline void StoreQuad(char* d, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    const uint32_t word = kB64Pairs[v >> 12] | uint32_t{kB64Pairs[v & 0xfff]} << 16;
    std::memcpy(d, &word, 4);
  } else {
    StorePair(d, v >> 12);
    StorePair(d + 2, v & 0xfff);
  }
}

// Decodes `in` (length a multiple of 4) into `dst`, which has room for in.size()/4*3 bytes.
// Returns the number of bytes written, or -1 if `in` is not canonical padded base64 (dst then
// holds garbage).
ptrdiff_t B64DecodeInto(std::string_view in, char* dst) {
  const size_t n = in.size();
  if (n % 4 != 0) return -1;
  if (n == 0) return 0;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  char* d = dst;
  const size_t full = n - 4;  // every quad but the last has no padding
  uint32_t bad = 0;
  for (size_t i = 0; i < full; i += 4) {
    const uint32_t v = kB64D0[s[i]] | kB64D1[s[i + 1]] | kB64D2[s[i + 2]] | kB64D3[s[i + 3]];
    bad |= v;
    // A 4-byte store of which 3 count: the 4th lands inside dst, before the last quad's bytes.
    uint32_t word = v << 8;  // b0 b1 b2 0, most significant first
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap32(word);
    std::memcpy(d, &word, 4);
    d += 3;
  }
  if (bad & kB64Bad) return -1;
  const unsigned char* q = s + full;
  const uint32_t a = kB64Table[q[0]], b = kB64Table[q[1]];
  if ((a | b) & 0x80) return -1;
  if (q[2] == '=') {
    // "xx==": one byte; the 4 low bits of the second character must be zero.
    if (q[3] != '=' || (b & 0x0f) != 0) return -1;
    *d++ = static_cast<char>((a << 2) | (b >> 4));
  } else if (q[3] == '=') {
    // "xxx=": two bytes; the 2 low bits of the third character must be zero.
    const uint32_t c = kB64Table[q[2]];
    if ((c & 0x80) || (c & 0x03) != 0) return -1;
    const uint32_t v = (a << 18) | (b << 12) | (c << 6);
    *d++ = static_cast<char>(v >> 16);
    *d++ = static_cast<char>(v >> 8);
  } else {
    const uint32_t c = kB64Table[q[2]], e = kB64Table[q[3]];
    if ((c | e) & 0x80) return -1;
    const uint32_t v = (a << 18) | (b << 12) | (c << 6) | e;
    *d++ = static_cast<char>(v >> 16);
    *d++ = static_cast<char>(v >> 8);
    *d++ = static_cast<char>(v);
  }
  return d - dst;
}

// Decodes into *out (replacing its contents) without zero-filling more than needed.
bool B64DecodeToString(std::string_view in, std::string* out) {
  if (in.size() % 4 != 0) {
    out->clear();
    return false;
  }
  out->resize(in.size() / 4 * 3);
  ptrdiff_t n = B64DecodeInto(in, out->data());
  if (n < 0) {
    out->clear();
    return false;
  }
  out->resize(static_cast<size_t>(n));
  return true;
}

// --- resize stream: a SAX handler for boost::json::basic_parser with Go's decoding rules ---

// Go decodes each object into struct{Width, Height uint16}: keys match case-insensitively,
// unknown keys are ignored, null leaves a field (and a top-level null the whole size) at zero,
// and a number must be a plain decimal literal that fits uint16.
class ResizeHandler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  using ec_t = boost::json::error_code;
  using sv_t = boost::json::string_view;

  // Where completed sizes go; set by Feed before each write.
  std::vector<TerminalSize>* out = nullptr;
  // Set with a message when the handler rejects the stream (the parser then fails).
  std::string error;

  bool on_document_begin(ec_t&) {
    depth_ = 0;
    size_ = {};
    field_ = kNoField;
    key_len_ = 0;
    num_len_ = 0;
    return true;
  }
  bool on_document_end(ec_t&) {
    out->push_back(size_);
    return true;
  }
  bool on_object_begin(ec_t& ec) {
    if (depth_ == 1 && field_ != kNoField) return Fail(ec, "got an object");
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    --depth_;
    if (depth_ == 1) field_ = kNoField;
    return true;
  }
  bool on_array_begin(ec_t& ec) {
    if (depth_ == 0) return FailTop(ec);
    if (depth_ == 1 && field_ != kNoField) return Fail(ec, "got an array");
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, ec_t&) {
    --depth_;
    if (depth_ == 1) field_ = kNoField;
    return true;
  }
  // Strings are judged when complete, so that the verdict does not depend on where frames split.
  bool on_string_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_string(sv_t, std::size_t, ec_t& ec) {
    if (!OnString(ec)) return false;
    if (depth_ == 1) field_ = kNoField;
    return true;
  }
  bool on_key_part(sv_t s, std::size_t, ec_t&) {
    AppendKey(s);
    return true;
  }
  bool on_key(sv_t s, std::size_t, ec_t&) {
    AppendKey(s);
    if (depth_ == 1) field_ = MatchKey();
    key_len_ = 0;
    return true;
  }
  bool on_number_part(sv_t s, ec_t&) {
    AppendNumber(s);
    return true;
  }
  bool on_int64(int64_t, sv_t s, ec_t& ec) { return OnNumber(s, ec); }
  bool on_uint64(uint64_t, sv_t s, ec_t& ec) { return OnNumber(s, ec); }
  bool on_double(double, sv_t s, ec_t& ec) { return OnNumber(s, ec); }
  bool on_bool(bool b, ec_t& ec) {
    if (depth_ == 0) return FailTop(ec);
    if (depth_ == 1 && field_ != kNoField) return Fail(ec, b ? "got true" : "got false");
    if (depth_ == 1) field_ = kNoField;
    return true;
  }
  bool on_null(ec_t&) {
    // Go: null leaves the field (or, at the top, the whole size) unchanged.
    if (depth_ == 1) field_ = kNoField;
    return true;
  }
  bool on_comment_part(sv_t, ec_t&) { return true; }
  bool on_comment(sv_t, ec_t&) { return true; }

 private:
  enum Field : uint8_t { kNoField, kWidth, kHeight };
  static constexpr size_t kMaxKey = 8;      // longer keys cannot match Width/Height
  static constexpr size_t kMaxNumber = 24;  // longer literals are kept only for the message

  bool Fail(ec_t& ec, std::string_view what) {
    error = "resize ";
    error += field_ == kWidth ? "Width" : "Height";
    error += " must be an integer 0-65535, ";
    error += what;
    ec = boost::json::error::exception;
    return false;
  }
  bool FailTop(ec_t& ec) {
    error = "resize message is not a json object";
    ec = boost::json::error::exception;
    return false;
  }
  bool OnString(ec_t& ec) {
    if (depth_ == 0) return FailTop(ec);
    if (depth_ == 1 && field_ != kNoField) return Fail(ec, "got a string");
    return true;
  }
  void AppendKey(sv_t s) {
    for (char c : s) {
      if (key_len_ < kMaxKey) key_[key_len_] = c;
      ++key_len_;  // counts on past kMaxKey, so that a longer key matches nothing
    }
  }
  Field MatchKey() const {
    if (key_len_ > kMaxKey) return kNoField;
    auto equals_fold = [&](std::string_view want) {
      if (want.size() != key_len_) return false;
      for (size_t i = 0; i < key_len_; ++i) {
        char c = key_[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != want[i]) return false;
      }
      return true;
    };
    if (equals_fold("width")) return kWidth;
    if (equals_fold("height")) return kHeight;
    return kNoField;
  }
  void AppendNumber(sv_t s) {
    for (char c : s) {
      if (num_len_ < kMaxNumber) num_[num_len_] = c;
      ++num_len_;
    }
  }
  bool OnNumber(sv_t s, ec_t& ec) {
    AppendNumber(s);
    const size_t len = num_len_;
    num_len_ = 0;
    if (depth_ == 0) return FailTop(ec);
    if (depth_ != 1 || field_ == kNoField) return true;
    // Go: strconv.ParseUint(literal, 10, 16); JSON already forbids leading zeros.
    uint32_t v = 0;
    bool ok = len <= 5;
    for (size_t i = 0; ok && i < len; ++i) {
      char c = num_[i];
      ok = c >= '0' && c <= '9';
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!ok || v > 65535) {
      std::string what = "got ";
      what.append(num_, len < kMaxNumber ? len : kMaxNumber);
      if (len > kMaxNumber) what += "...";
      return Fail(ec, what);
    }
    (field_ == kWidth ? size_.width : size_.height) = static_cast<uint16_t>(v);
    field_ = kNoField;
    return true;
  }

  size_t depth_ = 0;  // object/array nesting; 1 = inside the top-level object
  TerminalSize size_;
  Field field_ = kNoField;  // the field the next depth-1 value is for
  char key_[kMaxKey] = {};
  size_t key_len_ = 0;
  char num_[kMaxNumber] = {};
  size_t num_len_ = 0;
};

// Go's encoding/json accepts invalid UTF-8 inside strings; so do we.
boost::json::parse_options GoParseOptions() {
  boost::json::parse_options opt;
  opt.allow_invalid_utf8 = true;
  return opt;
}

// --- status JSON helpers: Go's json.Unmarshal into metav1.Status ---

bool EqualsFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The value of `key` (matched case-insensitively, the last match wins as in Go), or nullptr.
const boost::json::value* Find(const boost::json::object& o, std::string_view key) {
  const boost::json::value* found = nullptr;
  for (const auto& kv : o) {
    if (EqualsFold(std::string_view(kv.key().data(), kv.key().size()), key)) found = &kv.value();
  }
  return found;
}

Status BadField(std::string_view field, std::string_view want) {
  std::string m = "unparseable status: field \"";
  m += field;
  m += "\" is not ";
  m += want;
  return Status::Protocol(std::move(m));
}

// A string field: absent or null leaves *out empty (Go).
Status GetString(const boost::json::object& o, std::string_view key, std::string* out) {
  const boost::json::value* v = Find(o, key);
  if (v == nullptr || v->is_null()) return Status::OK();
  if (!v->is_string()) return BadField(key, "a string");
  out->assign(v->get_string().data(), v->get_string().size());
  return Status::OK();
}

// client-go: strconv.ParseUint(message, 10, 8).
bool ParseExitCode(std::string_view text, int* code) {
  if (text.empty()) return false;  // any number of leading zeros is legal in Go
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 255) return false;
  }
  *code = static_cast<int>(v);
  return true;
}

Result<RemoteStatus> ParseJsonStatus(std::string_view text) {
  boost::json::parser parser(boost::json::storage_ptr(), GoParseOptions());
  boost::json::error_code ec;
  size_t used = parser.write(text.data(), text.size(), ec);
  if (ec) {
    std::string m = "unparseable status: ";
    m += ec.message();
    m += " at byte ";
    m += std::to_string(used);
    return Status::Protocol(std::move(m));
  }
  boost::json::value root = parser.release();
  RemoteStatus st;
  if (root.is_null())
    return Status::Protocol("unparseable status: status is \"\", not Success or Failure");
  if (!root.is_object()) return Status::Protocol("unparseable status: not a json object");
  const boost::json::object& o = root.get_object();
  std::string status;
  PODTAPE_RETURN_IF_ERROR(GetString(o, "status", &status));
  PODTAPE_RETURN_IF_ERROR(GetString(o, "message", &st.message));
  PODTAPE_RETURN_IF_ERROR(GetString(o, "reason", &st.reason));
  if (const boost::json::value* v = Find(o, "code"); v != nullptr && !v->is_null()) {
    const bool fits = (v->is_int64() && v->get_int64() >= std::numeric_limits<int32_t>::min() &&
                       v->get_int64() <= std::numeric_limits<int32_t>::max()) ||
                      (v->is_uint64() && v->get_uint64() <= std::numeric_limits<int32_t>::max());
    if (!fits) return BadField("code", "a 32-bit integer");
    st.code =
        static_cast<int>(v->is_int64() ? v->get_int64() : static_cast<int64_t>(v->get_uint64()));
  }
  const boost::json::array* causes = nullptr;
  if (const boost::json::value* d = Find(o, "details"); d != nullptr && !d->is_null()) {
    if (!d->is_object()) return BadField("details", "an object");
    if (const boost::json::value* c = Find(d->get_object(), "causes");
        c != nullptr && !c->is_null()) {
      if (!c->is_array()) return BadField("details.causes", "an array");
      causes = &c->get_array();
    }
  }

  if (status == "Success") {
    st.kind = RemoteStatus::Kind::kSuccess;
    st.exit_code = 0;
    return st;
  }
  if (status != "Failure") {
    return Status::Protocol("unparseable status: status is " + Quote(status) +
                            ", not Success or Failure");
  }
  if (st.reason != "NonZeroExitCode") {
    st.kind = RemoteStatus::Kind::kFailure;
    st.exit_code = 1;
    return st;
  }
  if (causes != nullptr) {
    for (const boost::json::value& c : *causes) {
      if (c.is_null()) continue;
      if (!c.is_object()) return BadField("details.causes[]", "an object");
      std::string reason, message;
      PODTAPE_RETURN_IF_ERROR(GetString(c.get_object(), "reason", &reason));
      if (reason != "ExitCode") continue;
      PODTAPE_RETURN_IF_ERROR(GetString(c.get_object(), "message", &message));
      if (!ParseExitCode(message, &st.exit_code)) {
        return Status::Protocol("exit code out of range: " + Quote(message) +
                                " (must be decimal 0-255)");
      }
      st.kind = RemoteStatus::Kind::kExitCode;
      return st;
    }
  }
  return Status::Protocol("status without an ExitCode cause");
}

// Go's base64.RawURLEncoding.DecodeString (non-strict): '-' and '_' alphabet, no '=', '\r' and
// '\n' skipped, a final group of 2 or 3 characters allowed, trailing bits ignored.
bool RawUrlBase64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t bits = 0;
  int nbits = 0;
  size_t chars = 0;
  for (char ch : in) {
    if (ch == '\r' || ch == '\n') continue;
    uint32_t v;
    if (ch >= 'A' && ch <= 'Z') {
      v = static_cast<uint32_t>(ch - 'A');
    } else if (ch >= 'a' && ch <= 'z') {
      v = static_cast<uint32_t>(ch - 'a' + 26);
    } else if (ch >= '0' && ch <= '9') {
      v = static_cast<uint32_t>(ch - '0' + 52);
    } else if (ch == '-') {
      v = 62;
    } else if (ch == '_') {
      v = 63;
    } else {
      return false;
    }
    ++chars;
    bits = (bits << 6) | v;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out->push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return chars % 4 != 1;
}

// Go's utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      const unsigned char ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

// --- bearer token in a subprotocol entry ---

std::string BearerProtocolEntry(std::string_view token) {
  std::string out(kBearerPrefix);
  const size_t start = out.size();
  Base64Encode(token, &out);
  while (out.size() > start && out.back() == '=') out.pop_back();
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '+') out[i] = '-';
    if (out[i] == '/') out[i] = '_';
  }
  return out;
}

Result<BearerProtocol> ExtractBearerProtocol(std::string_view header) {
  BearerProtocol result;
  bool saw_token = false;
  Status error;
  ForEachEntry(header, [&](std::string_view e) {
    if (!IsBearerEntry(e)) return true;
    if (saw_token) {
      error = Status::Protocol("multiple base64.bearer.authorization tokens specified");
      return false;
    }
    saw_token = true;
    if (!RawUrlBase64Decode(e.substr(kBearerPrefix.size()), &result.token)) {
      error = Status::Protocol("invalid base64.bearer.authorization token encoding");
      return false;
    }
    if (!ValidUtf8(result.token)) {
      error = Status::Protocol("invalid base64.bearer.authorization token");
      return false;
    }
    return true;
  });
  if (!error.ok()) {
    result.token.assign(result.token.size(), '\0');  // do not leave the secret in freed memory
    return error;
  }
  // The other entries, empty ones included, as Go's strings.Join(filteredProtocols, ",").
  bool first = true;
  size_t others = 0;
  ForEachEntry(header, [&](std::string_view e) {
    if (IsBearerEntry(e)) return true;
    if (!first) result.filtered += ',';
    first = false;
    result.filtered += e;
    ++others;
    return true;
  });
  if (!result.token.empty() && others == 0) {
    return Status::Protocol("missing additional subprotocol");
  }
  return result;
}

std::string RedactProtocolHeader(std::string_view header) {
  std::string out;
  out.reserve(header.size());
  size_t pos = 0;
  while (true) {
    const size_t found = header.find(kBearerPrefix, pos);
    if (found == std::string_view::npos) break;
    const size_t token_start = found + kBearerPrefix.size();
    size_t token_end = header.find(',', token_start);
    if (token_end == std::string_view::npos) token_end = header.size();
    // Keep trailing whitespace before the comma.
    while (token_end > token_start &&
           (header[token_end - 1] == ' ' || header[token_end - 1] == '\t')) {
      --token_end;
    }
    out.append(header.substr(pos, token_start - pos));
    out += "<redacted>";
    pos = token_end;
  }
  out.append(header.substr(pos));
  return out;
}

// --- subprotocols ---

std::string_view SubprotocolName(Subprotocol p) {
  switch (p) {
    case Subprotocol::kNone:
      return "";
    case Subprotocol::kV1:
      return kNameV1;
    case Subprotocol::kV1Base64:
      return kNameV1Base64;
    case Subprotocol::kV4:
      return kNameV4;
    case Subprotocol::kV4Base64:
      return kNameV4Base64;
    case Subprotocol::kV5:
      return kNameV5;
  }
  return "";
}

std::optional<Subprotocol> ParseSubprotocol(std::string_view name) {
  if (name.empty()) return Subprotocol::kNone;
  if (name == kNameV5) return Subprotocol::kV5;
  if (name == kNameV4) return Subprotocol::kV4;
  if (name == kNameV4Base64) return Subprotocol::kV4Base64;
  if (name == kNameV1) return Subprotocol::kV1;
  if (name == kNameV1Base64) return Subprotocol::kV1Base64;
  return std::nullopt;
}

bool IsBase64(Subprotocol p) { return p == Subprotocol::kV1Base64 || p == Subprotocol::kV4Base64; }
bool HasJsonStatus(Subprotocol p) {
  return p == Subprotocol::kV4 || p == Subprotocol::kV4Base64 || p == Subprotocol::kV5;
}
bool HasCloseSignal(Subprotocol p) { return p == Subprotocol::kV5; }
FrameType FrameTypeFor(Subprotocol p) {
  return IsBase64(p) ? FrameType::kText : FrameType::kBinary;
}

std::vector<Subprotocol> DefaultOffer() {
  return {Subprotocol::kV5, Subprotocol::kV4, Subprotocol::kV1};
}

std::string JoinOffer(std::span<const Subprotocol> offer) {
  std::string out;
  for (Subprotocol p : offer) {
    if (p == Subprotocol::kNone) continue;
    if (!out.empty()) out += ',';
    out += SubprotocolName(p);
  }
  return out;
}

Result<std::vector<Subprotocol>> ParseOfferList(std::string_view csv) {
  if (Trim(csv).empty()) {
    return Status::InvalidArgument("empty subprotocol list; name at least one of " +
                                   std::string(kKnownList));
  }
  std::vector<Subprotocol> offer;
  Status error;
  ForEachEntry(csv, [&](std::string_view entry) {
    if (entry.empty()) {
      error = Status::InvalidArgument("empty entry in subprotocol list " + Quote(csv));
      return false;
    }
    if (IsBearerEntry(entry)) {
      error = Status::InvalidArgument(
          "bearer-token entries are not accepted in the subprotocol list; pass the token with "
          "--token");
      return false;
    }
    std::optional<Subprotocol> p = ParseSubprotocol(entry);
    if (!p) {
      if (entry == "v2.channel.k8s.io" || entry == "v3.channel.k8s.io") {
        error = Status::InvalidArgument("subprotocol " + Quote(entry) +
                                        " exists only over spdy; use one of " +
                                        std::string(kKnownList));
      } else {
        error = Status::InvalidArgument("unknown subprotocol " + Quote(entry) + "; use one of " +
                                        std::string(kKnownList));
      }
      return false;
    }
    for (Subprotocol q : offer) {
      if (q == *p) {
        error = Status::InvalidArgument("duplicate subprotocol " + Quote(entry) +
                                        " in subprotocol list");
        return false;
      }
    }
    offer.push_back(*p);
    return true;
  });
  if (!error.ok()) return error;
  return offer;
}

Result<Subprotocol> CheckChosen(std::string_view chosen, std::span<const Subprotocol> offered) {
  chosen = Trim(chosen);
  auto was_offered = [&](Subprotocol p) {
    for (Subprotocol q : offered) {
      if (q == p) return true;
    }
    return false;
  };
  if (chosen.empty()) {
    if (offered.empty() || was_offered(Subprotocol::kNone)) return Subprotocol::kNone;
    return Status::Protocol("server chose no subprotocol; offered " + JoinOffer(offered));
  }
  std::optional<Subprotocol> p = ParseSubprotocol(chosen);
  if (!p || !was_offered(*p)) {
    std::string m =
        "server chose subprotocol " + PrintableEntry(chosen) + ", which was not offered";
    if (!offered.empty()) m += " (offered " + JoinOffer(offered) + ")";
    return Status::Protocol(std::move(m));
  }
  return *p;
}

std::optional<Subprotocol> ChooseServerProtocol(std::string_view header, bool v5_enabled) {
  header = Trim(header);
  if (header.empty()) return Subprotocol::kNone;
  if (v5_enabled) {
    bool has_v5 = false;
    ForEachEntry(header, [&](std::string_view e) {
      has_v5 = e == kNameV5;
      return !has_v5;
    });
    if (has_v5) return Subprotocol::kV5;
  }
  // The runtime's handshake(): the first entry of the client's list it supports. An empty entry
  // is the protocol "" (binary, like channel.k8s.io), which the runtime supports too.
  std::optional<Subprotocol> chosen;
  ForEachEntry(header, [&](std::string_view e) {
    if (IsBearerEntry(e)) return true;
    std::optional<Subprotocol> p = ParseSubprotocol(e);
    if (p && *p != Subprotocol::kV5) {
      chosen = p;
      return false;
    }
    return true;
  });
  return chosen;
}

// --- messages ---

void Base64Encode(std::string_view in, std::string* out) {
  const size_t n = in.size();
  const size_t start = out->size();
  out->resize(start + (n + 2) / 3 * 4);
  char* d = out->data() + start;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8) | s[i + 2];
    StoreQuad(d, v);
    d += 4;
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{s[i]} << 16;
    StorePair(d, v >> 12);
    d[2] = '=';
    d[3] = '=';
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8);
    StorePair(d, v >> 12);
    d[2] = kB64Alphabet[(v >> 6) & 63];
    d[3] = '=';
  }
}

bool Base64Decode(std::string_view in, std::string* out) { return B64DecodeToString(in, out); }

void EncodeMessage(Subprotocol p, uint8_t channel, std::string_view payload, std::string* out) {
  if (IsBase64(p)) {
    out->reserve(out->size() + 1 + (payload.size() + 2) / 3 * 4);
    out->push_back(static_cast<char>('0' + channel));
    Base64Encode(payload, out);
    return;
  }
  out->reserve(out->size() + 1 + payload.size());
  out->push_back(static_cast<char>(channel));
  out->append(payload);
}

std::string EncodeClose(uint8_t channel) {
  return std::string{static_cast<char>(kClose), static_cast<char>(channel)};
}

bool IsUnknownChannel(const Status& decode_error) {
  return decode_error.code() == Status::Code::kProtocol &&
         decode_error.message().starts_with(kUnknownChannel);
}

Status ValidateClose(std::string_view message) {
  if (message.size() != 2) {
    return Status::Protocol("close message must be 2 bytes, got " + std::to_string(message.size()));
  }
  const unsigned ch = static_cast<unsigned char>(message[1]);
  if (ch >= kNumChannels) {
    return Status::Protocol("close message for unknown channel " + std::to_string(ch));
  }
  return Status::OK();
}

Status DecodeMessage(Subprotocol p, Sender sender, FrameType type, std::string_view message,
                     std::string* scratch, DecodedMessage* out) {
  // Only client-go checks the frame type (of what the server sends). The Go server reads every
  // message as bytes whatever its type; the Python client sends text frames on v4.channel.k8s.io.
  const bool check_type = sender == Sender::kServer;
  if (IsBase64(p)) {
    if (check_type && type != FrameType::kText) {
      return Status::Protocol("binary frame on base64 protocol " + std::string(DisplayName(p)));
    }
    if (message.empty()) return Status::Protocol("empty message");
    const unsigned char c = static_cast<unsigned char>(message[0]);
    if (c < '0' || c > '9') {
      std::string shown = Quote(message.substr(0, 1));
      shown.front() = '\'';
      shown.back() = '\'';
      return Status::Protocol("invalid channel character " + shown);
    }
    const unsigned ch = c - '0';
    if (ch >= kNumChannels) {
      return Status::Protocol(std::string(kUnknownChannel) + std::to_string(ch));
    }
    if (!B64DecodeToString(message.substr(1), scratch)) {
      return Status::Protocol("invalid base64 in message on channel " + std::to_string(ch));
    }
    out->channel = static_cast<uint8_t>(ch);
    out->payload = *scratch;
    return Status::OK();
  }
  if (check_type && type != FrameType::kBinary) {
    return Status::Protocol("text frame on binary protocol " + std::string(DisplayName(p)));
  }
  if (message.empty()) return Status::Protocol("empty message");
  const unsigned ch = static_cast<unsigned char>(message[0]);
  if (ch == kClose) {
    if (p != Subprotocol::kV5) {
      return Status::Protocol(std::string(kUnknownChannel) + "255: close signal on " +
                              std::string(DisplayName(p)) + ", which has none");
    }
    if (sender != Sender::kClient) {
      return Status::Protocol(std::string(kUnknownChannel) + "255: close signal from the server");
    }
    PODTAPE_RETURN_IF_ERROR(ValidateClose(message));
  } else if (ch >= kNumChannels) {
    return Status::Protocol(std::string(kUnknownChannel) + std::to_string(ch));
  }
  out->channel = static_cast<uint8_t>(ch);
  out->payload = message.substr(1);
  return Status::OK();
}

// --- resize ---

std::string EncodeResize(TerminalSize size) {
  unsigned char buffer[256];
  boost::json::static_resource mr(buffer);
  boost::json::object o(&mr);
  o.reserve(2);
  o.emplace("Width", size.width);
  o.emplace("Height", size.height);
  std::string out = boost::json::serialize(o);
  out += '\n';
  return out;
}

struct ResizeStreamParser::Impl {
  boost::json::basic_parser<ResizeHandler> parser{GoParseOptions()};
  Status failed;  // sticky: Go stops resize handling at the first undecodable object
};

ResizeStreamParser::ResizeStreamParser() : impl_(new Impl) {}
ResizeStreamParser::~ResizeStreamParser() { delete impl_; }

Status ResizeStreamParser::Feed(std::string_view bytes, std::vector<TerminalSize>* out) {
  if (!impl_->failed.ok()) return impl_->failed;
  auto& parser = impl_->parser;
  parser.handler().out = out;
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    boost::json::error_code ec;
    // write_some stops at the end of one complete value; the rest starts the next one.
    const size_t used = parser.write_some(true, p, n, ec);
    if (ec) {
      std::string& why = parser.handler().error;
      impl_->failed = Status::Protocol(why.empty() ? "invalid resize json: " + ec.message() : why);
      return impl_->failed;
    }
    p += used;
    n -= used;
    if (parser.done()) {
      parser.reset();
    } else if (used == 0) {
      impl_->failed = Status::Protocol("invalid resize json: parser made no progress");
      return impl_->failed;
    }
  }
  return Status::OK();
}

// --- status ---

Result<RemoteStatus> ParseStatus(Subprotocol p, std::string_view accumulated) {
  RemoteStatus st;
  if (!HasJsonStatus(p)) {
    // Pre-v4: nothing on success, the plain text of Status.message on failure.
    if (accumulated.empty()) {
      st.kind = RemoteStatus::Kind::kSuccess;
      return st;
    }
    st.kind = RemoteStatus::Kind::kFailure;
    st.exit_code = 1;
    st.message.assign(accumulated);
    return st;
  }
  if (accumulated.empty()) return st;  // Kind::kNone
  return ParseJsonStatus(accumulated);
}

}  // namespace podtape::codec
