// A typed YAML schema: the mechanism behind train.yaml, independent of what the sections are.
//
// A schema is a table of fields. Each field has a dotted key ("train.steps"), a value type,
// a default (whatever the root object holds when default-constructed), a help line, and an
// optional range (numbers) or list of choices (strings); it locates its value inside a root
// object through member pointers (MakeField). With the table, Schema:
//   * parses YAML text into a root object: every key must be in the table (an unknown key is
//     an error naming file:line and the nearest valid key, "did you mean"), every value is
//     checked against its type, range and choices;
//   * applies `section.key=value` overrides to the document before it is checked, so they
//     are checked like the file's own values (and errors name the override);
//   * runs the owner's cross-field checks, whose messages name keys as {section.key}, and
//     turns each {key} into "'key' (file:line)";
//   * renders a root object back as YAML, and lists the fields for --help-config.
//
// The concrete schema (which sections and keys exist) belongs to its owner: train/config.cc
// for train.yaml. yaml-cpp stays inside config_schema.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace ogai::config {

// The value types a field can have (the C++ type of the member it locates).
enum class ValueType { kString, kBool, kInt, kInt64, kUint64, kDouble, kStringList, kIntList };

// The ValueType of a member of C++ type T; any other type does not compile.
template <typename T>
constexpr ValueType ValueTypeOf() {
  if constexpr (std::is_same_v<T, std::string>)
    return ValueType::kString;
  else if constexpr (std::is_same_v<T, bool>)
    return ValueType::kBool;
  else if constexpr (std::is_same_v<T, int>)
    return ValueType::kInt;
  else if constexpr (std::is_same_v<T, int64_t>)
    return ValueType::kInt64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return ValueType::kUint64;
  else if constexpr (std::is_same_v<T, double>)
    return ValueType::kDouble;
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return ValueType::kStringList;
  else {
    static_assert(std::is_same_v<T, std::vector<int>>, "a config field of a type the schema cannot parse");
    return ValueType::kIntList;
  }
}

// Allowed values of a number field, inclusive.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};
inline constexpr Range kPositive{1, std::numeric_limits<double>::infinity()};
inline constexpr Range kNonNegative{0, std::numeric_limits<double>::infinity()};

struct Field {
  std::string key;  // "train.steps": section.name
  ValueType type = ValueType::kString;
  std::function<void*(void* root)> locate;  // the member inside a root object
  std::string help;
  Range range;                       // numbers only
  std::vector<std::string> choices;  // strings only; empty = any string
};

// A field for member `member` of section `section` of a root object of type Root.
template <typename Root, typename S, typename T>
Field MakeField(std::string key, S Root::*section, T S::*member, std::string help, Range range = {},
                std::vector<std::string> choices = {}) {
  Field f;
  f.key = std::move(key);
  f.type = ValueTypeOf<T>();
  f.locate = [section, member](void* root) -> void* { return &((static_cast<Root*>(root)->*section).*member); };
  f.help = std::move(help);
  f.range = range;
  f.choices = std::move(choices);
  return f;
}

// The wording of a schema's errors that depends on the kind of document.
struct SchemaText {
  // After "NAME: " when the document is not a mapping.
  std::string not_a_mapping;
  // After "unknown key 'x'" when no key is near enough to suggest.
  std::string where_keys_are;
};

class Schema {
 public:
  Schema(std::vector<Field> fields, SchemaText text);

  // Parses `yaml_text` (called `name` in messages) into `*root`, which must be the object type
  // the fields were made for, default-constructed. Overrides ("section.key=value") are applied
  // first; then `relations` runs on the filled object and its error message, naming keys as
  // {section.key}, is prefixed with the name and has each key located.
  Status Parse(const std::string& yaml_text, const std::string& name, const std::vector<std::string>& overrides,
               void* root, const std::function<Status()>& relations) const;

  // Every field of `root` as YAML, sections in table order. Parsing it back gives an equal object.
  std::string ToYaml(const void* root) const;

  // One line per field: key, type, the value in `defaults`, help.
  std::string Help(const void* defaults) const;

  const std::vector<Field>& fields() const { return fields_; }
  // The field with this key, or nullptr.
  const Field* Find(const std::string& key) const;
  // True if some key starts with "prefix.".
  bool IsSection(const std::string& prefix) const;
  // The nearest key or section to `key`, or "" if nothing is close.
  std::string Suggest(const std::string& key) const;

 private:
  std::vector<Field> fields_;
  std::vector<std::string> sections_;  // in order of first appearance
  SchemaText text_;
};

// OK when `text` (a config file called `name`) is UTF-8 and not empty; else an error saying
// where and how to fix it (an empty or UTF-16 file used to train silently with defaults).
Status CheckDocumentText(const std::string& text, const std::string& name);

// A number as the schema renders it (17 significant digits, always with a '.' or exponent).
std::string RenderNumber(double v);

// `msg` without the {} that mark keys in a relations message.
std::string StripKeyBraces(const std::string& msg);

// True if `s` looks like an override ("a.b=value").
bool IsOverride(const std::string& s);

}  // namespace ogai::config
