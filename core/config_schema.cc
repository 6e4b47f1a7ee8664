#include "core/config_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/check.h"
#include "core/edit_distance.h"

namespace ogai::config {
namespace {

// ---- value parsing ------------------------------------------------------------
// Each returns "" on success or a description of what was expected.

std::string ParseValue(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return "a string";
  out = n.Scalar();
  return "";
}

std::string ParseValue(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return "true or false";
  try {
    out = n.as<bool>();
  } catch (const YAML::Exception&) {
    return "true or false";
  }
  return "";
}

// The number syntax of a config (docs/config.md): decimal only, an optional sign, digits,
// an optional fraction and exponent. No hex (0x10), octal, binary, inf or nan: strtod would
// read "0x10" as 16, which nobody writing train.steps means.
bool IsDecimalNumber(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

std::string ParseInt64(const YAML::Node& n, int64_t& out) {
  if (!n.IsScalar()) return "an integer";
  const std::string& s = n.Scalar();
  if (!IsDecimalNumber(s)) return "an integer, written in decimal";
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) {
      // Accept integral floats written like 1e6 or 2.0.
      double d = std::stod(s, &pos);
      if (pos != s.size() || d != std::floor(d) || std::fabs(d) > 9e18) return "an integer";
      v = static_cast<long long>(d);
    }
    out = v;
  } catch (const std::exception&) {
    return "an integer";
  }
  return "";
}

std::string ParseValue(const YAML::Node& n, int64_t& out) { return ParseInt64(n, out); }

std::string ParseValue(const YAML::Node& n, int& out) {
  int64_t v = 0;
  std::string e = ParseInt64(n, v);
  if (!e.empty()) return e;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return "an integer that fits in 32 bits";
  out = static_cast<int>(v);
  return "";
}

std::string ParseValue(const YAML::Node& n, uint64_t& out) {
  int64_t v = 0;
  std::string e = ParseInt64(n, v);
  if (!e.empty() || v < 0) return "a non-negative integer";
  out = static_cast<uint64_t>(v);
  return "";
}

std::string ParseValue(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return "a number";
  const std::string& s = n.Scalar();
  if (!IsDecimalNumber(s)) return "a number, written in decimal";
  try {
    size_t pos = 0;
    out = std::stod(s, &pos);
    if (pos != s.size() || !std::isfinite(out)) return "a finite number";
  } catch (const std::exception&) {
    return "a number";
  }
  return "";
}

template <typename T>
std::string ParseList(const YAML::Node& n, std::vector<T>& out, const char* what) {
  out.clear();
  if (n.IsNull()) return "";
  if (n.IsScalar()) {  // a single value is a list of one
    T v{};
    if (!ParseValue(n, v).empty()) return what;
    out.push_back(v);
    return "";
  }
  if (!n.IsSequence()) return what;
  for (const auto& item : n) {
    T v{};
    if (!ParseValue(item, v).empty()) return what;
    out.push_back(v);
  }
  return "";
}
std::string ParseValue(const YAML::Node& n, std::vector<std::string>& out) {
  return ParseList(n, out, "a list of strings");
}
std::string ParseValue(const YAML::Node& n, std::vector<int>& out) { return ParseList(n, out, "a list of integers"); }

// ---- value rendering ----------------------------------------------------------

std::string Render(const std::string& v) {
  YAML::Emitter e;
  e << YAML::DoubleQuoted << v;
  return e.c_str();
}
std::string Render(bool v) { return v ? "true" : "false"; }
std::string Render(int v) { return std::to_string(v); }
std::string Render(int64_t v) { return std::to_string(v); }
std::string Render(uint64_t v) { return std::to_string(v); }
std::string Render(double v) { return RenderNumber(v); }
template <typename T>
std::string Render(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += Render(v[i]);
  }
  return s + "]";
}

std::string FormatNum(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::ostringstream os;
  os << v;
  return os.str();
}

// Parses `n` as a T, checks the field's range or choices, and stores it in `*slot`.
// Returns "" or what was expected.
template <typename T>
std::string SetTyped(const Field& f, const YAML::Node& n, void* slot) {
  T v{};
  std::string e = ParseValue(n, v);
  if (!e.empty()) return e;
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    double d = static_cast<double>(v);
    if (d < f.range.lo || d > f.range.hi) {
      std::string want = "a value";
      if (std::isfinite(f.range.lo)) want += " >= " + FormatNum(f.range.lo);
      if (std::isfinite(f.range.lo) && std::isfinite(f.range.hi)) want += " and";
      if (std::isfinite(f.range.hi)) want += " <= " + FormatNum(f.range.hi);
      return want;
    }
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end()) {
      std::string want = "one of";
      for (size_t i = 0; i < f.choices.size(); ++i) want += (i ? ", " : " ") + f.choices[i];
      return want;
    }
  }
  *static_cast<T*>(slot) = std::move(v);
  return "";
}

std::string SetField(const Field& f, void* root, const YAML::Node& n) {
  void* slot = f.locate(root);
  switch (f.type) {
    case ValueType::kString: return SetTyped<std::string>(f, n, slot);
    case ValueType::kBool: return SetTyped<bool>(f, n, slot);
    case ValueType::kInt: return SetTyped<int>(f, n, slot);
    case ValueType::kInt64: return SetTyped<int64_t>(f, n, slot);
    case ValueType::kUint64: return SetTyped<uint64_t>(f, n, slot);
    case ValueType::kDouble: return SetTyped<double>(f, n, slot);
    case ValueType::kStringList: return SetTyped<std::vector<std::string>>(f, n, slot);
    case ValueType::kIntList: return SetTyped<std::vector<int>>(f, n, slot);
  }
  OGAI_CHECK(false && "unhandled ValueType");
  return "";
}

std::string GetField(const Field& f, const void* root) {
  // locate() only computes an address; the value is read, never written.
  const void* slot = f.locate(const_cast<void*>(root));
  switch (f.type) {
    case ValueType::kString: return Render(*static_cast<const std::string*>(slot));
    case ValueType::kBool: return Render(*static_cast<const bool*>(slot));
    case ValueType::kInt: return Render(*static_cast<const int*>(slot));
    case ValueType::kInt64: return Render(*static_cast<const int64_t*>(slot));
    case ValueType::kUint64: return Render(*static_cast<const uint64_t*>(slot));
    case ValueType::kDouble: return Render(*static_cast<const double*>(slot));
    case ValueType::kStringList: return Render(*static_cast<const std::vector<std::string>*>(slot));
    case ValueType::kIntList: return Render(*static_cast<const std::vector<int>*>(slot));
  }
  OGAI_CHECK(false && "unhandled ValueType");
  return "";
}

std::string TypeName(const Field& f) {
  if (!f.choices.empty()) {
    std::string t;
    for (size_t i = 0; i < f.choices.size(); ++i) t += (i ? "|" : "") + f.choices[i];
    return t;
  }
  switch (f.type) {
    case ValueType::kString: return "string";
    case ValueType::kBool: return "bool";
    case ValueType::kInt:
    case ValueType::kInt64:
    case ValueType::kUint64: return "int";
    case ValueType::kDouble: return "float";
    case ValueType::kStringList: return "list of strings";
    case ValueType::kIntList: return "list of ints";
  }
  OGAI_CHECK(false && "unhandled ValueType");
  return "";
}

// One parse: the document's name, and where each key's value came from (for messages).
struct Parser {
  const Schema& schema;
  const SchemaText& text;
  std::string name;                                  // file name for messages
  std::map<std::string, int> lines;                  // key -> 1-based line
  std::map<std::string, std::string> from_override;  // key -> "k=v"

  std::string Where(const std::string& key, const YAML::Mark& mark) const {
    auto it = from_override.find(key);
    if (it != from_override.end()) return "command-line override '" + it->second + "'";
    if (mark.is_null()) return name;
    return name + ":" + std::to_string(mark.line + 1);
  }

  std::string WhereKey(const std::string& key) const {
    auto it = from_override.find(key);
    if (it != from_override.end()) return "command-line override '" + it->second + "'";
    auto l = lines.find(key);
    if (l == lines.end()) return name + " (default value)";
    return name + ":" + std::to_string(l->second);
  }

  Status Walk(const YAML::Node& node, const std::string& prefix, void* root) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node k = it->first;  // copies: it-> points into a temporary proxy
      const YAML::Node v = it->second;
      std::string kname = k.IsScalar() ? k.Scalar() : "?";
      std::string path = prefix.empty() ? kname : prefix + "." + kname;
      if (!k.IsScalar()) {
        return InvalidArgument(Where(path, k.Mark()) + ": a key must be a plain name");
      }
      if (const Field* f = schema.Find(path)) {
        if (!v.Mark().is_null())
          lines[path] = v.Mark().line + 1;
        else if (!k.Mark().is_null())
          lines[path] = k.Mark().line + 1;
        std::string err = SetField(*f, root, v);
        if (!err.empty()) {
          std::string shown = v.IsScalar() ? "'" + v.Scalar() + "'" : "this value";
          return InvalidArgument(Where(path, k.Mark()) + ": key '" + path + "' is " + shown + "; it must be " + err);
        }
        continue;
      }
      if (schema.IsSection(path)) {
        if (v.IsNull()) continue;  // an empty section keeps its defaults
        if (!v.IsMap()) {
          return InvalidArgument(Where(path, k.Mark()) + ": '" + path +
                                 "' must be a section of keys (key: value lines indented below it)");
        }
        OGAI_RETURN_IF_ERROR(Walk(v, path, root));
        continue;
      }
      std::string msg = Where(path, k.Mark()) + ": unknown key '" + path + "'";
      std::string hint = schema.Suggest(path);
      if (!hint.empty())
        msg += "; did you mean '" + hint + "'?";
      else
        msg += text.where_keys_are;
      return InvalidArgument(msg);
    }
    return Status::Ok();
  }

  Status ApplyOverride(YAML::Node& root, const std::string& ov) {
    auto eq = ov.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("command-line override '" + ov + "' is not of the form section.key=value");
    }
    std::string key = ov.substr(0, eq);
    std::string val = ov.substr(eq + 1);
    if (!schema.Find(key)) {
      std::string msg = "command-line override '" + ov + "': unknown key '" + key + "'";
      std::string hint = schema.Suggest(key);
      if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
      return InvalidArgument(msg);
    }
    YAML::Node value;
    try {
      value = val.empty() ? YAML::Node(std::string()) : YAML::Load(val);
    } catch (const YAML::Exception& e) {
      return InvalidArgument("command-line override '" + ov + "': value does not parse: " + e.msg);
    }
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
    // Descend, creating sections as needed. yaml-cpp nodes are references: use reset().
    YAML::Node cur;
    cur.reset(root);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = cur[parts[i]];
      if (!next.IsMap()) {
        cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next = cur[parts[i]];
      }
      cur.reset(next);
    }
    cur[parts.back()] = value;
    from_override[key] = ov;
    return Status::Ok();
  }

  // A relations message names keys as {key}; each becomes "'key' (file:line)".
  std::string LocateKeys(const std::string& msg) const {
    std::string out;
    size_t i = 0;
    while (i < msg.size()) {
      size_t open = msg.find('{', i);
      if (open == std::string::npos) {
        out += msg.substr(i);
        break;
      }
      size_t close = msg.find('}', open);
      if (close == std::string::npos) {
        out += msg.substr(i);
        break;
      }
      std::string key = msg.substr(open + 1, close - open - 1);
      out += msg.substr(i, open - i) + "'" + key + "' (" + WhereKey(key) + ")";
      i = close + 1;
    }
    return out;
  }
};

}  // namespace

Schema::Schema(std::vector<Field> fields, SchemaText text) : fields_(std::move(fields)), text_(std::move(text)) {
  for (const auto& f : fields_) {
    std::string sec = f.key.substr(0, f.key.find('.'));
    if (std::find(sections_.begin(), sections_.end(), sec) == sections_.end()) sections_.push_back(sec);
  }
}

const Field* Schema::Find(const std::string& key) const {
  for (const auto& f : fields_)
    if (f.key == key) return &f;
  return nullptr;
}

bool Schema::IsSection(const std::string& prefix) const {
  std::string p = prefix + ".";
  for (const auto& f : fields_)
    if (f.key.compare(0, p.size(), p) == 0) return true;
  return false;
}

std::string Schema::Suggest(const std::string& key) const {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  auto dot = key.rfind('.');
  std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
  for (const auto& f : fields_) {
    size_t d = EditDistance(key, f.key);
    auto fdot = f.key.rfind('.');
    // A right leaf in the wrong section is a near miss too.
    if (f.key.substr(fdot + 1) == leaf) d = std::min<size_t>(d, 2);
    if (d < best_d) {
      best_d = d;
      best = f.key;
    }
  }
  // Sections too ("trian" -> "train").
  for (const auto& s : sections_) {
    size_t d = EditDistance(key, s);
    if (d < best_d) {
      best_d = d;
      best = s;
    }
  }
  size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_d <= limit ? best : "";
}

Status CheckDocumentText(const std::string& text, const std::string& name) {
  // UTF-8 (RFC 3629): no NUL, no overlong forms, no surrogates, nothing above U+10FFFF.
  size_t line = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len != 0 && c != 0 && i + len <= text.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = (b >> 6) == 2;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (ok && len > 1) {
      const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    }
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", c);
      return InvalidArgument(name + ":" + std::to_string(line) + ": not UTF-8 text (byte " + hex + " at offset " +
                             std::to_string(i) + (c == 0 || c == 0xff || c == 0xfe ? "; a UTF-16 file?" : "") +
                             "); save the file as UTF-8");
    }
    if (c == '\n') ++line;
    i += len;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument(name + ": the file is empty; write the sections you need (see examples/tiny.yaml)");
  }
  return Status::Ok();
}

namespace {
// How deep `text` nests (flow brackets and block indentation), and where the deepest point
// is: yaml-cpp gives up on deep documents with only "bad file".
struct Depth {
  int levels = 0;
  size_t line = 0;
};
Depth NestingDepth(const std::string& text) {
  Depth best;
  std::vector<size_t> indents;
  int flow = 0;
  size_t line = 1;
  for (size_t i = 0; i < text.size();) {
    size_t end = text.find('\n', i);
    if (end == std::string::npos) end = text.size();
    const size_t first = text.find_first_not_of(' ', i);
    if (first < end && text[first] != '#' && flow == 0) {
      const size_t indent = first - i;
      while (!indents.empty() && indents.back() >= indent) indents.pop_back();
      indents.push_back(indent);
    }
    char quote = 0;
    for (size_t k = i; k < end; ++k) {
      const char c = text[k];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#' && (k == i || text[k - 1] == ' ')) {
        break;
      } else if (c == '[' || c == '{') {
        ++flow;
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
      }
      const int levels = static_cast<int>(indents.size()) + flow;
      if (levels > best.levels) best = {levels, line};
    }
    i = end + 1;
    ++line;
  }
  return best;
}
constexpr int kMaxNesting = 64;
}  // namespace

Status Schema::Parse(const std::string& yaml_text, const std::string& name, const std::vector<std::string>& overrides,
                     void* root, const std::function<Status()>& relations) const {
  if (const Depth d = NestingDepth(yaml_text); d.levels > kMaxNesting) {
    return InvalidArgument(name + ":" + std::to_string(d.line) + ": nested " + std::to_string(d.levels) +
                           " levels deep here (the limit is " + std::to_string(kMaxNesting) +
                           "); a config is section: key: value, with lists one level below");
  }
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                           ": not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(name + ": not valid YAML: " + e.msg);
  }
  Parser p{*this, text_, name, {}, {}};
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) return InvalidArgument(name + ": " + text_.not_a_mapping);
  for (const auto& ov : overrides) OGAI_RETURN_IF_ERROR(p.ApplyOverride(doc, ov));
  OGAI_RETURN_IF_ERROR(p.Walk(doc, "", root));
  Status st = relations ? relations() : Status::Ok();
  if (!st.ok()) return Status(st.code(), name + ": " + p.LocateKeys(st.message()));
  return Status::Ok();
}

std::string Schema::ToYaml(const void* root) const {
  std::string out;
  std::string section;
  for (const auto& f : fields_) {
    auto dot = f.key.find('.');
    std::string sec = f.key.substr(0, dot);
    if (sec != section) {
      out += sec + ":\n";
      section = sec;
    }
    out += "  " + f.key.substr(dot + 1) + ": " + GetField(f, root) + "\n";
  }
  return out;
}

std::string Schema::Help(const void* defaults) const {
  std::string out;
  for (const auto& f : fields_) {
    char line[256];
    std::snprintf(line, sizeof(line), "  %-26s %-18s %-12s %s\n", f.key.c_str(), TypeName(f).c_str(),
                  GetField(f, defaults).c_str(), f.help.c_str());
    out += line;
  }
  return out;
}

std::string RenderNumber(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string StripKeyBraces(const std::string& msg) {
  std::string out;
  for (char c : msg)
    if (c != '{' && c != '}') out += c;
  return out;
}

bool IsOverride(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  auto dot = s.find('.');
  return dot != std::string::npos && dot < eq && s[0] != '-';
}

}  // namespace ogai::config
