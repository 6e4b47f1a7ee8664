// A browser for tests: Debian's chromedriver started as a child (tests/util/child.h) on a free
// loopback port, driving Debian's headless Chromium over WebDriver (W3C, JSON over HTTP with
// cpp-httplib's client and nlohmann-json). One session per object, with a Chromium profile
// folder of its own; the destructor ends the session and kills chromedriver's process group,
// Chromium included, so no browser process outlives the test.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/util/child.h"

namespace ogai::testing {

class WebDriver {
 public:
  // What is missing to run a browser here ("" when chromium and chromedriver are installed).
  static std::string Missing();

  // Starts chromedriver and a headless Chromium session of a window of width x height pixels,
  // its profile in `profile_dir` (created). On failure ok() is false and error() says why.
  WebDriver(const std::string& profile_dir, int width = 1400, int height = 1000);
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  bool ok() const { return !session_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& profile_dir() const { return profile_; }

  // Each returns false (and sets error()) when the driver answers with an error.
  bool Navigate(const std::string& url);
  // Runs `script` (a function body: `return ...;`) in the page; the value it returns, or null
  // with error() set.
  nlohmann::json Execute(const std::string& script, const nlohmann::json& args = nlohmann::json::array());
  // Polls `script` every 100 ms until it returns true or timeout_s pass.
  bool WaitFor(const std::string& script, double timeout_s);
  // Clicks the element `css` selects (the first).
  bool Click(const std::string& css);
  // Types `text` into the element `css` selects.
  bool Type(const std::string& css, const std::string& text);
  // Sets the window's size in CSS pixels (screenshots show the window).
  bool Resize(int width, int height);
  // Saves a PNG of the window to `path`.
  bool Screenshot(const std::string& path);

 private:
  // One WebDriver command; the "value" of the answer, or null with error_ set.
  nlohmann::json Command(const std::string& method, const std::string& path, const nlohmann::json& body);
  std::string ElementId(const std::string& css);

  std::string profile_, error_, session_;
  int port_ = 0;
  std::unique_ptr<Child> driver_;
};

}  // namespace ogai::testing
