// The model registry: named models with immutable numbered versions, each a set of tensors
// stored as content-addressed blobs (registry/blobs.h) plus its lineage, aliases, tags and
// evaluations, in one SQLite database (registry/db.h). docs/registry.md is the reference.
//
//   ROOT/registry.db      SQLite (WAL): schema_version, versions, tensors, tokenizer_files,
//                         aliases, tags, evaluations
//   ROOT/blobs/ab/abcd…   one file per distinct tensor / tokenizer file (SHA-256 of its bytes)
//   ROOT/tmp/             blobs being written (a crash may leave some; gc removes them)
//   ROOT/lock             flock: writers of blobs hold it shared, gc exclusive
//
// Every change of the database is one transaction; a version's blobs are all stored (and
// fsynced) before the transaction that inserts its rows, so a version that exists has every
// blob, and a crash before the commit leaves only unreferenced blobs for gc.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_config.h"
#include "registry/blobs.h"
#include "registry/db.h"

namespace ogai::registry {

constexpr int kSchemaVersion = 1;

struct TensorRecord {
  std::string name;  // ogai's name ("h.0.attn.q.w")
  std::vector<int64_t> shape;
  std::string blob;  // SHA-256 of its little-endian fp32 bytes
  int64_t bytes = 0;
};

// How text becomes tokens for this model: "byte" (token = byte value, no files) or
// "gpt2-bpe" (files "vocab.json" and "merges.txt" stored as blobs). A new kind adds its
// files under their usual names.
struct TokenizerRecord {
  std::string kind = "byte";
  std::map<std::string, std::string> files;  // file name -> blob
};

struct Lineage {
  std::string source;         // "checkpoint /abs/ckpt/step_00000150" or "import /abs/dir"
  int64_t step = 0;           // training steps of the checkpoint (0 for an import)
  std::string config_yaml;    // the resolved train.yaml of the run
  std::string dataset_id;     // data.dataset_id / a description of the data source
  std::string code_version;   // the trainer's git commit (from the checkpoint manifest)
  std::string registered_by;  // ogai-model's git commit
  std::string metrics_json;   // the run's last metrics line ("" when the run kept none)
  std::string parent;         // "NAME@VERSION" of the model the run started from, or a path, or ""
};

struct Evaluation {
  int64_t created_ms = 0;
  std::string data;
  int64_t tokens = 0;
  double loss = 0, perplexity = 0, bits_per_byte = 0;
  std::string layout;
};

struct VersionInfo {
  std::string model;
  int version = 0;
  int64_t created_ms = 0;
  ModelConfig config;
  TokenizerRecord tokenizer;
  Lineage lineage;
  std::vector<TensorRecord> tensors;
  std::vector<std::string> aliases;
  std::map<std::string, std::string> tags;
  std::vector<Evaluation> evaluations;
  std::vector<std::string> children;  // "NAME@V" of versions whose parent is this one
  std::string blob_root;              // the registry root its blobs are under
  int64_t bytes() const;
  std::string ref() const { return model + "@" + std::to_string(version); }
};

struct NewVersion {
  std::string model;
  ModelConfig config;
  TokenizerRecord tokenizer;
  Lineage lineage;
  std::vector<TensorRecord> tensors;  // their blobs must already be stored
  std::vector<std::string> aliases;
  std::map<std::string, std::string> tags;
};

struct ModelSummary {
  std::string name;
  int versions = 0;  // live versions
  int latest = 0;
  std::vector<std::string> aliases;  // "alias -> V"
};

struct GcReport {
  std::vector<std::string> unreferenced;  // blob hashes
  int64_t bytes = 0;
  std::vector<std::string> temp_files;
};

class Registry {
 public:
  // `root` from --root, else OGAI_REGISTRY, else ~/.ogai/registry.
  static std::string ResolveRoot(const std::string& flag);
  // Creates the root when missing; refuses an unwritable root and a database of a newer schema.
  static Result<std::unique_ptr<Registry>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  BlobStore& blobs() { return blobs_; }
  Db& db() { return *db_; }

  // Holds ROOT/lock shared (blob writers) or exclusive (gc) until the returned fd is closed.
  Result<int> Lock(bool exclusive);

  // Inserts the next version number of `v.model` (1 for a new model) in one transaction.
  Result<int> AddVersion(const NewVersion& v);
  // "NAME", "NAME@3", "NAME@alias" (NAME alone: the latest version). Unknown names, versions
  // and aliases are NotFound listing what exists.
  Result<VersionInfo> Resolve(const std::string& ref);
  Result<std::vector<ModelSummary>> List();
  Result<std::vector<VersionInfo>> Versions(const std::string& model);
  Status SetAlias(const std::string& ref, const std::string& alias);
  Status SetTag(const std::string& ref, const std::string& key, const std::string& value);
  // Removes a version's tensors (its lineage record stays, marked removed, so children keep
  // their history); refused while an alias points at it.
  Status Remove(const std::string& ref);
  Result<GcReport> Gc(bool apply);
  Status AddEvaluation(const std::string& ref, const Evaluation& e);

  // The tensor's fp32 values, checked against its blob hash.
  Result<std::vector<float>> ReadTensor(const TensorRecord& t);

 private:
  Registry(std::string root) : root_(root), blobs_(root) {}
  Status InitSchema();
  Result<std::string> KnownList(const std::string& model);
  std::string root_;
  BlobStore blobs_;
  std::unique_ptr<Db> db_;
};

// "NAME@REF" split; ref "" when absent.
void SplitRef(const std::string& s, std::string* name, std::string* ref);
// A model name is 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
Status CheckName(const std::string& what, const std::string& name);

}  // namespace ogai::registry
