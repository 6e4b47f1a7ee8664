// The quality rules of `ogai-data prepare`, each switchable in data.yaml, with the
// thresholds of the published pipelines as defaults: length; Gopher quality and Gopher
// repetition (Rae et al. 2021, "Scaling Language Models", app. A); C4's line rules (Raffel
// et al. 2020, sec. 2.2). Words are white-space separated; lines are split at '\n',
// paragraphs at blank lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataproc/prepare_config.h"

namespace ogai::data {

class Filters {
 public:
  explicit Filters(const PrepareConfig& cfg);
  // Applies the enabled rules in order (length, Gopher repetition, Gopher quality, C4). C4
  // removes lines from *text; *lines_removed counts them. Returns the index in RuleNames() of
  // the rule that dropped the document, or -1 if it is kept.
  int Apply(std::string* text, int64_t* lines_removed) const;
  // "length", "gopher_quality.words", ...: one name per rule, in a fixed order.
  static const std::vector<std::string>& RuleNames();

 private:
  int Length(const std::string& t) const;
  int Repetition(const std::string& t) const;
  int Quality(const std::string& t) const;
  int C4(std::string* t, int64_t* lines_removed) const;
  PrepareConfig cfg_;
};

// Replaces e-mail addresses with <EMAIL> and IPv4 addresses with <IP>, as enabled; counts them.
void MaskPii(const PiiConfig& cfg, std::string* text, int64_t* emails, int64_t* ips);

}  // namespace ogai::data
