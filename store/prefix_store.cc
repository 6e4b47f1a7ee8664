// PrefixStore: namespaces every key of a base store under "<prefix>/".
#include "store/store.h"

namespace ogai::store {
namespace {

class PrefixStore final : public Store {
 public:
  PrefixStore(std::shared_ptr<Store> base, std::string prefix)
      : base_(std::move(base)), prefix_(std::move(prefix) + "/") {}

  Status Set(const std::string& key, const std::string& value) override { return base_->Set(K(key), value); }
  Result<std::string> Get(const std::string& key, std::chrono::milliseconds timeout) override {
    return base_->Get(K(key), timeout);
  }
  Result<int64_t> Add(const std::string& key, int64_t delta) override { return base_->Add(K(key), delta); }
  Result<std::string> CompareSet(const std::string& key, const std::string& expected,
                                 const std::string& desired) override {
    return base_->CompareSet(K(key), expected, desired);
  }
  Status Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override {
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const auto& k : keys) full.push_back(K(k));
    return base_->Wait(full, timeout);
  }
  Result<bool> Delete(const std::string& key) override { return base_->Delete(K(key)); }
  Result<std::optional<std::string>> TryGet(const std::string& key) override { return base_->TryGet(K(key)); }
  Result<std::vector<std::string>> ListKeys(const std::string& prefix) override {
    OGAI_ASSIGN_OR_RETURN(auto keys, base_->ListKeys(K(prefix)));
    for (auto& k : keys) k.erase(0, prefix_.size());
    return keys;
  }

 private:
  std::string K(const std::string& key) const { return prefix_ + key; }

  std::shared_ptr<Store> base_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<Store> MakePrefixStore(std::shared_ptr<Store> base, std::string prefix) {
  return std::make_unique<PrefixStore>(std::move(base), std::move(prefix));
}

}  // namespace ogai::store
