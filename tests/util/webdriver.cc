#include "tests/util/webdriver.h"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace ogai::testing {
namespace {

using nlohmann::json;

const char kChromium[] = "/usr/bin/chromium";
const char kDriver[] = "/usr/bin/chromedriver";
// The element reference key of the W3C WebDriver protocol.
const char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";

// Base64 (RFC 4648) to bytes, for the screenshot.
std::string DecodeBase64(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z')
      d = c - 'A';
    else if (c >= 'a' && c <= 'z')
      d = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      d = c - '0' + 52;
    else if (c == '+')
      d = 62;
    else if (c == '/')
      d = 63;
    else
      continue;  // '=' and line breaks
    val = (val << 6) + d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

std::string WebDriver::Missing() {
  std::string m;
  if (::access(kChromium, X_OK) != 0) m += std::string(kChromium) + " ";
  if (::access(kDriver, X_OK) != 0) m += std::string(kDriver) + " ";
  if (m.empty()) return "";
  return "no " + m + "(Debian's chromium and chromium-driver; scripts/deps.sh installs them)";
}

WebDriver::WebDriver(const std::string& profile_dir, int width, int height) : profile_(profile_dir) {
  if (std::string m = Missing(); !m.empty()) {
    error_ = m;
    return;
  }
  std::filesystem::create_directories(profile_);
  Child::Options o;
  o.separate_stderr = true;
  driver_ = std::make_unique<Child>(std::vector<std::string>{kDriver, "--port=0"}, o);
  std::smatch m;
  const std::regex started("started successfully on port ([0-9]+)");
  if (!driver_->WaitForStdout([&](const std::string& out) { return std::regex_search(out, m, started); }, 30)) {
    error_ = "chromedriver did not start: " + driver_->out() + driver_->err();
    return;
  }
  const std::string out = driver_->out();
  std::regex_search(out, m, started);
  port_ = std::stoi(m[1]);
  json caps = {{"capabilities",
                {{"alwaysMatch",
                  {{"browserName", "chrome"},
                   {"goog:chromeOptions",
                    {{"binary", kChromium},
                     {"args",
                      {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--disable-extensions", "--disable-background-networking",
                       "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                       "--user-data-dir=" + profile_}}}}}}}}};
  json v = Command("POST", "/session", caps);
  if (v.is_object() && v.contains("sessionId")) session_ = v["sessionId"].get<std::string>();
  if (session_.empty() && error_.empty()) error_ = "no session id in chromedriver's answer: " + v.dump();
}

WebDriver::~WebDriver() {
  if (!session_.empty()) Command("DELETE", "/session/" + session_, nullptr);  // Chromium quits
  if (driver_) driver_->Kill();  // chromedriver's group, whatever is left of Chromium with it
}

json WebDriver::Command(const std::string& method, const std::string& path, const json& body) {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(10);
  cli.set_read_timeout(120);
  httplib::Result r = method == "GET"      ? cli.Get(path)
                      : method == "DELETE" ? cli.Delete(path)
                                           : cli.Post(path, body.dump(), "application/json");
  if (!r) {
    error_ = method + " " + path + ": no answer from chromedriver (" + httplib::to_string(r.error()) + ")";
    return nullptr;
  }
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("value")) {
    error_ = method + " " + path + ": HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 400);
    return nullptr;
  }
  if (r->status != 200) {
    error_ = method + " " + path + ": " + j["value"].value("error", "?") + ": " +
             j["value"].value("message", "").substr(0, 600);
    return nullptr;
  }
  return j["value"];
}

bool WebDriver::Navigate(const std::string& url) {
  error_.clear();
  Command("POST", "/session/" + session_ + "/url", {{"url", url}});
  return error_.empty();
}

json WebDriver::Execute(const std::string& script, const json& args) {
  error_.clear();
  return Command("POST", "/session/" + session_ + "/execute/sync", {{"script", script}, {"args", args}});
}

bool WebDriver::WaitFor(const std::string& script, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (Execute(script) == json(true)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string WebDriver::ElementId(const std::string& css) {
  error_.clear();
  json v = Command("POST", "/session/" + session_ + "/element", {{"using", "css selector"}, {"value", css}});
  if (!v.is_object() || !v.contains(kElementKey)) {
    if (error_.empty()) error_ = "no element " + css;
    return "";
  }
  return v[kElementKey].get<std::string>();
}

bool WebDriver::Click(const std::string& css) {
  const std::string id = ElementId(css);
  if (id.empty()) return false;
  Command("POST", "/session/" + session_ + "/element/" + id + "/click", json::object());
  return error_.empty();
}

bool WebDriver::Type(const std::string& css, const std::string& text) {
  const std::string id = ElementId(css);
  if (id.empty()) return false;
  Command("POST", "/session/" + session_ + "/element/" + id + "/value", {{"text", text}});
  return error_.empty();
}

bool WebDriver::Resize(int width, int height) {
  error_.clear();
  Command("POST", "/session/" + session_ + "/window/rect", {{"width", width}, {"height", height}});
  return error_.empty();
}

bool WebDriver::Screenshot(const std::string& path) {
  error_.clear();
  json v = Command("GET", "/session/" + session_ + "/screenshot", nullptr);
  if (!v.is_string()) return false;
  std::ofstream(path, std::ios::binary) << DecodeBase64(v.get<std::string>());
  return std::filesystem::file_size(path) > 0;
}

}  // namespace ogai::testing
