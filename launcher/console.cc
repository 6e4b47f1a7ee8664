#include "launcher/console.h"

#include <unistd.h>

#include "core/file_io.h"
#include "core/log.h"

namespace ogai::launch::console {

void Error(const std::string& text) { LogLine(LogLevel::Error, text); }

void Warn(const std::string& text) { LogLine(LogLevel::Warn, text); }

void Notice(const std::string& text) { WriteAll(STDERR_FILENO, "ogai-run: " + text + "\n"); }

void Block(std::string_view text) { WriteAll(STDERR_FILENO, text); }

void Relay(std::string_view text, bool is_stderr) { WriteAll(is_stderr ? STDERR_FILENO : STDOUT_FILENO, text); }

}  // namespace ogai::launch::console
