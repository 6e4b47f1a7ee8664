#include "registry/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ckpt/format.h"
#include "core/clock.h"
#include "core/knobs.h"

namespace ogai::registry {

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
  model TEXT NOT NULL, version INTEGER NOT NULL, created_ms INTEGER NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0,
  layers INTEGER NOT NULL, heads INTEGER NOT NULL, d_model INTEGER NOT NULL,
  vocab INTEGER NOT NULL, seq_len INTEGER NOT NULL,
  tokenizer TEXT NOT NULL,
  source TEXT NOT NULL, step INTEGER NOT NULL, config_yaml TEXT NOT NULL, dataset_id TEXT NOT NULL,
  code_version TEXT NOT NULL, registered_by TEXT NOT NULL, metrics_json TEXT NOT NULL, parent TEXT NOT NULL,
  PRIMARY KEY(model, version));
CREATE TABLE IF NOT EXISTS tensors(
  model TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, shape TEXT NOT NULL,
  blob TEXT NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY(model, version, name), FOREIGN KEY(model, version) REFERENCES versions(model, version));
CREATE INDEX IF NOT EXISTS tensors_blob ON tensors(blob);
CREATE TABLE IF NOT EXISTS tokenizer_files(
  model TEXT NOT NULL, version INTEGER NOT NULL, file TEXT NOT NULL, blob TEXT NOT NULL,
  PRIMARY KEY(model, version, file), FOREIGN KEY(model, version) REFERENCES versions(model, version));
CREATE TABLE IF NOT EXISTS aliases(
  model TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY(model, alias), FOREIGN KEY(model, version) REFERENCES versions(model, version));
CREATE TABLE IF NOT EXISTS tags(
  model TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(model, version, key), FOREIGN KEY(model, version) REFERENCES versions(model, version));
CREATE TABLE IF NOT EXISTS evaluations(
  id INTEGER PRIMARY KEY, model TEXT NOT NULL, version INTEGER NOT NULL, created_ms INTEGER NOT NULL,
  data TEXT NOT NULL, tokens INTEGER NOT NULL, loss REAL NOT NULL, perplexity REAL NOT NULL,
  bits_per_byte REAL, layout TEXT NOT NULL,  -- bits_per_byte NULL: not measured
  FOREIGN KEY(model, version) REFERENCES versions(model, version));
)sql";

std::string ShapeText(const std::vector<int64_t>& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
  return o;
}
std::vector<int64_t> ParseShape(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(std::strtoll(s.substr(i, j - i).c_str(), nullptr, 10));
    i = j + 1;
  }
  return out;
}

}  // namespace

int64_t VersionInfo::bytes() const {
  int64_t b = 0;
  for (const auto& t : tensors) b += t.bytes;
  return b;
}

void SplitRef(const std::string& s, std::string* name, std::string* ref) {
  const size_t at = s.find('@');
  *name = s.substr(0, at);
  *ref = at == std::string::npos ? "" : s.substr(at + 1);
}

Status CheckName(const std::string& what, const std::string& n) {
  bool ok = !n.empty() && n.size() <= 64 && n[0] != '.' && n[0] != '-';
  for (char c : n) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return InvalidArgument(what + " '" + n + "' is not valid: use 1-64 letters, digits, '.', '_' or '-' (not first)");
  }
  return Status::Ok();
}

std::string Registry::ResolveRoot(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (auto env = KnobText("OGAI_REGISTRY")) return *env;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home ? home : ".") + "/.ogai/registry";
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& root) {
  if (Status st = ckpt::MakeDirs(root); !st.ok()) {
    return PermissionDenied("cannot create the registry root " + root + ": " + st.message() +
                            "; pick a writable folder with --root or OGAI_REGISTRY");
  }
  if (::access(root.c_str(), W_OK) != 0) {
    return PermissionDenied("the registry root " + root +
                            " is not writable; pick a writable folder with --root or OGAI_REGISTRY");
  }
  std::unique_ptr<Registry> r(new Registry(root));
  OGAI_ASSIGN_OR_RETURN(r->db_, Db::Open(root + "/registry.db"));
  OGAI_RETURN_IF_ERROR(r->InitSchema());
  return r;
}

Status Registry::InitSchema() {
  return db_->Transaction([&]() -> Status {
    OGAI_RETURN_IF_ERROR(db_->Exec(kSchema));
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT max(version) FROM schema_version"));
    OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row || q.IsNull(0)) {
      OGAI_ASSIGN_OR_RETURN(Stmt ins, db_->Prepare("INSERT INTO schema_version(version) VALUES (?)"));
      return ins.Bind(1, static_cast<int64_t>(kSchemaVersion)).Run();
    }
    const int64_t v = q.Int(0);
    if (v > kSchemaVersion) {
      return NotSupported("the registry " + root_ + " has schema version " + std::to_string(v) +
                          ", newer than this ogai-model understands (" + std::to_string(kSchemaVersion) +
                          "); use a newer ogai-model, or another --root");
    }
    return Status::Ok();
  });
}

Result<int> Registry::Lock(bool exclusive) {
  const std::string p = root_ + "/lock";
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot open " + p, errno);
  if (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoError("cannot lock " + p, e);
  }
  return fd;
}

Result<int> Registry::AddVersion(const NewVersion& v) {
  OGAI_RETURN_IF_ERROR(CheckName("model name", v.model));
  for (const auto& a : v.aliases) OGAI_RETURN_IF_ERROR(CheckName("alias", a));
  int version = 0;
  Status st = db_->Transaction([&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT coalesce(max(version), 0) FROM versions WHERE model = ?"));
    q.Bind(1, v.model);
    OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
    version = row ? static_cast<int>(q.Int(0)) + 1 : 1;
    OGAI_ASSIGN_OR_RETURN(Stmt ins, db_->Prepare("INSERT INTO versions VALUES (?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    const Lineage& l = v.lineage;
    ins.Bind(1, v.model).Bind(2, static_cast<int64_t>(version)).Bind(3, static_cast<int64_t>(UnixMs()));
    ins.Bind(4, static_cast<int64_t>(v.config.layers)).Bind(5, static_cast<int64_t>(v.config.heads));
    ins.Bind(6, static_cast<int64_t>(v.config.d_model)).Bind(7, static_cast<int64_t>(v.config.vocab));
    ins.Bind(8, static_cast<int64_t>(v.config.seq_len)).Bind(9, v.tokenizer.kind);
    ins.Bind(10, l.source).Bind(11, l.step).Bind(12, l.config_yaml).Bind(13, l.dataset_id).Bind(14, l.code_version);
    ins.Bind(15, l.registered_by).Bind(16, l.metrics_json).Bind(17, l.parent);
    OGAI_RETURN_IF_ERROR(ins.Run());
    for (const TensorRecord& t : v.tensors) {
      OGAI_ASSIGN_OR_RETURN(Stmt ti, db_->Prepare("INSERT INTO tensors VALUES (?,?,?,?,?,?)"));
      ti.Bind(1, v.model).Bind(2, static_cast<int64_t>(version)).Bind(3, t.name).Bind(4, ShapeText(t.shape));
      OGAI_RETURN_IF_ERROR(ti.Bind(5, t.blob).Bind(6, t.bytes).Run());
    }
    for (const auto& [file, blob] : v.tokenizer.files) {
      OGAI_ASSIGN_OR_RETURN(Stmt fi, db_->Prepare("INSERT INTO tokenizer_files VALUES (?,?,?,?)"));
      OGAI_RETURN_IF_ERROR(
          fi.Bind(1, v.model).Bind(2, static_cast<int64_t>(version)).Bind(3, file).Bind(4, blob).Run());
    }
    for (const auto& a : v.aliases) {
      OGAI_ASSIGN_OR_RETURN(Stmt ai, db_->Prepare("INSERT OR REPLACE INTO aliases VALUES (?,?,?)"));
      OGAI_RETURN_IF_ERROR(ai.Bind(1, v.model).Bind(2, a).Bind(3, static_cast<int64_t>(version)).Run());
    }
    for (const auto& [k, val] : v.tags) {
      OGAI_ASSIGN_OR_RETURN(Stmt gi, db_->Prepare("INSERT OR REPLACE INTO tags VALUES (?,?,?,?)"));
      OGAI_RETURN_IF_ERROR(gi.Bind(1, v.model).Bind(2, static_cast<int64_t>(version)).Bind(3, k).Bind(4, val).Run());
    }
    // Test hook: hold the transaction open (10 x the knob) so a test can kill the process inside it.
    if (auto ms = KnobInt("OGAI_REGISTRY_TEST_DELAY_MS"); ms && *ms > 0) {
      std::fprintf(stderr, "test: inside the register transaction\n");
      ::usleep(static_cast<useconds_t>(*ms) * 10000);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return version;
}

Result<std::string> Registry::KnownList(const std::string& model) {
  std::string out;
  if (model.empty()) {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT DISTINCT model FROM versions WHERE removed = 0 ORDER BY model"));
    for (;;) {
      OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      out += (out.empty() ? "" : ", ") + q.Text(0);
    }
    return out.empty() ? std::string("the registry holds no models yet") : "models: " + out;
  }
  OGAI_ASSIGN_OR_RETURN(Stmt q,
                        db_->Prepare("SELECT version FROM versions WHERE model = ? AND removed = 0 ORDER BY version"));
  q.Bind(1, model);
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out += (out.empty() ? "" : ", ") + std::to_string(q.Int(0));
  }
  std::string al;
  OGAI_ASSIGN_OR_RETURN(Stmt a, db_->Prepare("SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias"));
  a.Bind(1, model);
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, a.Step());
    if (!row) break;
    al += (al.empty() ? "" : ", ") + a.Text(0) + " -> " + std::to_string(a.Int(1));
  }
  return "versions of " + model + ": " + (out.empty() ? "none" : out) + "; aliases: " + (al.empty() ? "none" : al);
}

Result<VersionInfo> Registry::Resolve(const std::string& spec) {
  std::string name, ref;
  SplitRef(spec, &name, &ref);
  OGAI_ASSIGN_OR_RETURN(Stmt any, db_->Prepare("SELECT count(*) FROM versions WHERE model = ? AND removed = 0"));
  any.Bind(1, name);
  OGAI_ASSIGN_OR_RETURN(bool row0, any.Step());
  if (!row0 || any.Int(0) == 0) {
    OGAI_ASSIGN_OR_RETURN(std::string known, KnownList(""));
    return NotFound("no model named '" + name + "' in the registry " + root_ + "; " + known);
  }
  int64_t version = 0;
  if (ref.empty()) {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT max(version) FROM versions WHERE model = ? AND removed = 0"));
    q.Bind(1, name);
    OGAI_RETURN_IF_ERROR(q.Step().status());
    version = q.Int(0);
  } else if (std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    version = std::strtoll(ref.c_str(), nullptr, 10);
  } else {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT version FROM aliases WHERE model = ? AND alias = ?"));
    q.Bind(1, name).Bind(2, ref);
    OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) {
      OGAI_ASSIGN_OR_RETURN(std::string known, KnownList(name));
      return NotFound("model " + name + " has no alias '" + ref + "'; " + known);
    }
    version = q.Int(0);
  }
  OGAI_ASSIGN_OR_RETURN(Stmt v, db_->Prepare("SELECT * FROM versions WHERE model = ? AND version = ? AND removed = 0"));
  v.Bind(1, name).Bind(2, version);
  OGAI_ASSIGN_OR_RETURN(bool found, v.Step());
  if (!found) {
    OGAI_ASSIGN_OR_RETURN(std::string known, KnownList(name));
    return NotFound("model " + name + " has no version " + ref + "; " + known);
  }
  VersionInfo info;
  info.blob_root = root_;
  info.model = name;
  info.version = static_cast<int>(version);
  info.created_ms = v.Int(2);
  info.config.layers = static_cast<int>(v.Int(4));
  info.config.heads = static_cast<int>(v.Int(5));
  info.config.d_model = static_cast<int>(v.Int(6));
  info.config.vocab = static_cast<int>(v.Int(7));
  info.config.seq_len = static_cast<int>(v.Int(8));
  info.tokenizer.kind = v.Text(9);
  Lineage& l = info.lineage;
  l.source = v.Text(10);
  l.step = v.Int(11);
  l.config_yaml = v.Text(12);
  l.dataset_id = v.Text(13);
  l.code_version = v.Text(14);
  l.registered_by = v.Text(15);
  l.metrics_json = v.Text(16);
  l.parent = v.Text(17);
  const std::string key = " WHERE model = ? AND version = ?";
  auto each = [&](const std::string& sql, const std::function<void(Stmt&)>& fn) -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
    q.Bind(1, name).Bind(2, version);
    for (;;) {
      OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      fn(q);
    }
  };
  OGAI_RETURN_IF_ERROR(each("SELECT name, shape, blob, bytes FROM tensors" + key + " ORDER BY rowid", [&](Stmt& q) {
    info.tensors.push_back({q.Text(0), ParseShape(q.Text(1)), q.Text(2), q.Int(3)});
  }));
  OGAI_RETURN_IF_ERROR(each("SELECT file, blob FROM tokenizer_files" + key,
                            [&](Stmt& q) { info.tokenizer.files[q.Text(0)] = q.Text(1); }));
  OGAI_RETURN_IF_ERROR(
      each("SELECT alias FROM aliases" + key + " ORDER BY alias", [&](Stmt& q) { info.aliases.push_back(q.Text(0)); }));
  OGAI_RETURN_IF_ERROR(each("SELECT key, value FROM tags" + key, [&](Stmt& q) { info.tags[q.Text(0)] = q.Text(1); }));
  OGAI_RETURN_IF_ERROR(
      each("SELECT created_ms, data, tokens, loss, perplexity, bits_per_byte, layout FROM evaluations" + key +
               " ORDER BY id",
           [&](Stmt& q) {
             info.evaluations.push_back({q.Int(0), q.Text(1), q.Int(2), q.Real(3), q.Real(4),
                                         q.IsNull(5) ? std::nan("") : q.Real(5), q.Text(6)});
           }));
  OGAI_ASSIGN_OR_RETURN(Stmt c, db_->Prepare("SELECT model, version FROM versions WHERE parent = ? AND removed = 0"));
  c.Bind(1, info.ref());
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, c.Step());
    if (!row) break;
    info.children.push_back(c.Text(0) + "@" + std::to_string(c.Int(1)));
  }
  return info;
}

Result<std::vector<ModelSummary>> Registry::List() {
  std::vector<ModelSummary> out;
  OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT model, count(*), max(version) FROM versions WHERE removed = 0 "
                                             "GROUP BY model ORDER BY model"));
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ModelSummary s{q.Text(0), static_cast<int>(q.Int(1)), static_cast<int>(q.Int(2)), {}};
    OGAI_ASSIGN_OR_RETURN(Stmt a, db_->Prepare("SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias"));
    a.Bind(1, s.name);
    for (;;) {
      OGAI_ASSIGN_OR_RETURN(bool r2, a.Step());
      if (!r2) break;
      s.aliases.push_back(a.Text(0) + " -> " + std::to_string(a.Int(1)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<VersionInfo>> Registry::Versions(const std::string& model) {
  std::vector<int64_t> vs;
  {
    OGAI_ASSIGN_OR_RETURN(
        Stmt q, db_->Prepare("SELECT version FROM versions WHERE model = ? AND removed = 0 ORDER BY version"));
    q.Bind(1, model);
    for (;;) {
      OGAI_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      vs.push_back(q.Int(0));
    }
  }
  if (vs.empty()) {
    OGAI_ASSIGN_OR_RETURN(std::string known, KnownList(""));
    return NotFound("no model named '" + model + "' in the registry " + root_ + "; " + known);
  }
  std::vector<VersionInfo> out;
  for (int64_t v : vs) {
    OGAI_ASSIGN_OR_RETURN(VersionInfo i, Resolve(model + "@" + std::to_string(v)));
    out.push_back(std::move(i));
  }
  return out;
}

Status Registry::SetAlias(const std::string& ref, const std::string& alias) {
  OGAI_RETURN_IF_ERROR(CheckName("alias", alias));
  if (std::all_of(alias.begin(), alias.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("alias '" + alias + "' is a number, which would read as a version; pick a name");
  }
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, Resolve(ref));
  return db_->Transaction([&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("INSERT OR REPLACE INTO aliases VALUES (?,?,?)"));
    return q.Bind(1, v.model).Bind(2, alias).Bind(3, static_cast<int64_t>(v.version)).Run();
  });
}

Status Registry::SetTag(const std::string& ref, const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgument("a tag needs a key: --tag KEY=VALUE");
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, Resolve(ref));
  return db_->Transaction([&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("INSERT OR REPLACE INTO tags VALUES (?,?,?,?)"));
    return q.Bind(1, v.model).Bind(2, static_cast<int64_t>(v.version)).Bind(3, key).Bind(4, value).Run();
  });
}

Status Registry::Remove(const std::string& ref) {
  std::string name, r;
  SplitRef(ref, &name, &r);
  if (r.empty()) return InvalidArgument("rm takes one version: " + name + "@VERSION (a number or an alias)");
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, Resolve(ref));
  return db_->Transaction([&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt a, db_->Prepare("SELECT alias FROM aliases WHERE model = ? AND version = ?"));
    a.Bind(1, v.model).Bind(2, static_cast<int64_t>(v.version));
    std::string al;
    for (;;) {
      OGAI_ASSIGN_OR_RETURN(bool row, a.Step());
      if (!row) break;
      al += (al.empty() ? "" : ", ") + a.Text(0);
    }
    if (!al.empty()) {
      return InvalidArgument(v.ref() + " is still aliased (" + al +
                             "); move or drop the alias first (ogai-model alias " + v.model + "@OTHER " +
                             al.substr(0, al.find(',')) + ")");
    }
    for (const char* sql : {"DELETE FROM tensors WHERE model = ? AND version = ?",
                            "DELETE FROM tokenizer_files WHERE model = ? AND version = ?",
                            "UPDATE versions SET removed = 1 WHERE model = ? AND version = ?"}) {
      OGAI_ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
      OGAI_RETURN_IF_ERROR(q.Bind(1, v.model).Bind(2, static_cast<int64_t>(v.version)).Run());
    }
    return Status::Ok();
  });
}

Result<GcReport> Registry::Gc(bool apply) {
  // Exclusive: no register is between storing its blobs and committing their rows.
  OGAI_ASSIGN_OR_RETURN(int lock, Lock(true));
  GcReport rep;
  Status st = [&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(std::vector<std::string> all, blobs_.List());
    for (const std::string& h : all) {
      OGAI_ASSIGN_OR_RETURN(Stmt q1, db_->Prepare("SELECT 1 FROM tensors WHERE blob = ?1 UNION ALL "
                                                  "SELECT 1 FROM tokenizer_files WHERE blob = ?1 LIMIT 1"));
      q1.Bind(1, h);
      OGAI_ASSIGN_OR_RETURN(bool used, q1.Step());
      if (used) continue;
      rep.unreferenced.push_back(h);
      struct stat sb {};
      if (::stat(blobs_.PathOf(h).c_str(), &sb) == 0) rep.bytes += sb.st_size;
      if (apply) OGAI_RETURN_IF_ERROR(blobs_.Remove(h));
    }
    OGAI_ASSIGN_OR_RETURN(rep.temp_files, blobs_.TempFiles());
    if (apply) {
      for (const auto& t : rep.temp_files) ::unlink(t.c_str());
    }
    return Status::Ok();
  }();
  ::close(lock);
  if (!st.ok()) return st;
  return rep;
}

Status Registry::AddEvaluation(const std::string& ref, const Evaluation& e) {
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, Resolve(ref));
  return db_->Transaction([&]() -> Status {
    OGAI_ASSIGN_OR_RETURN(Stmt q,
                          db_->Prepare("INSERT INTO evaluations(model, version, created_ms, data, tokens, loss, "
                                       "perplexity, bits_per_byte, layout) VALUES (?,?,?,?,?,?,?,?,?)"));
    q.Bind(1, v.model).Bind(2, static_cast<int64_t>(v.version)).Bind(3, static_cast<int64_t>(UnixMs()));
    q.Bind(4, e.data).Bind(5, e.tokens).Bind(6, e.loss).Bind(7, e.perplexity);
    if (std::isnan(e.bits_per_byte)) {
      q.BindNull(8);
    } else {
      q.Bind(8, e.bits_per_byte);
    }
    return q.Bind(9, e.layout).Run();
  });
}

Result<std::vector<float>> Registry::ReadTensor(const TensorRecord& t) {
  OGAI_ASSIGN_OR_RETURN(std::string bytes, blobs_.Get(t.blob));
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  if (static_cast<int64_t>(bytes.size()) != n * 4) {
    return Corruption("blob " + blobs_.PathOf(t.blob) + " of tensor '" + t.name + "' holds " +
                      std::to_string(bytes.size()) + " bytes, the shape needs " + std::to_string(n * 4));
  }
  std::vector<float> out(n);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace ogai::registry
