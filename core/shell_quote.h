// Shell single-quoting, for the commands ogai writes for /bin/sh (ssh remote commands, sbatch
// scripts, the registry's and the trainer's calls of ogai-model): abc -> 'abc',
// it's -> 'it'\''s'. The result is one word to the shell whatever the input holds.
#pragma once

#include <string>

namespace ogai {

std::string ShellQuote(const std::string& s);

}  // namespace ogai
