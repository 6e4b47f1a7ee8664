#include "store/blob_client.h"

#include <new>

#include "core/crc32c.h"
#include "proto/store.pb.h"
#include "store/session.h"
#include "store/wire.h"

namespace ogai::store {

using wire_internal::Clock;
namespace pb = ::ogai::store::wire;

BlobClient::BlobClient(std::unique_ptr<wire_internal::Conn> conn, std::string where, Options opts)
    : conn_(std::move(conn)), where_(std::move(where)), opts_(opts) {}
BlobClient::~BlobClient() = default;

Result<std::unique_ptr<BlobClient>> BlobClient::Connect(const std::string& host, int port, const std::string& token,
                                                        const Options& opts) {
  const std::string where = host + ":" + std::to_string(port);
  if (port <= 0 || port > 65535) return InvalidArgument("blob server port out of range: " + where);
  const auto deadline = Clock::now() + opts.connect_timeout;
  auto fd = wire_internal::DialTcp(host, port, deadline);
  if (!fd.ok()) return fd.status().WithContext("blob server at " + where);
  auto conn = std::make_unique<wire_internal::Conn>(*fd);
  Status st = conn->Handshake(token, deadline);
  if (!st.ok()) return st.WithContext("blob server at " + where);
  return std::unique_ptr<BlobClient>(new BlobClient(std::move(conn), where, opts));
}

Status BlobClient::Put(const std::string& name, int64_t step, const void* data, uint64_t size, uint32_t crc32c) {
  // First the server makes room (or refuses: nothing is sent), then the bytes, then its word
  // that they arrived whole.
  OGAI_RETURN_IF_ERROR(PutRequest(name, step, size, crc32c));
  OGAI_RETURN_IF_ERROR(PutAwaitRoom());
  OGAI_RETURN_IF_ERROR(PutBytes(data, size));
  return PutAwaitDone();
}

Status BlobClient::PutRequest(const std::string& name, int64_t step, uint64_t size, uint32_t crc32c) {
  pb::Request req;
  pb::BlobInfo* info = req.mutable_blob_put()->mutable_blob();
  info->set_name(name);
  info->set_step(step);
  info->set_bytes(size);
  info->set_crc32c(crc32c);
  put_id_ = conn_->NextId();
  put_name_ = name;
  req.set_id(put_id_);
  return wire_internal::WriteMessage(conn_->fd(), conn_->mac(), req, Clock::now() + opts_.io_timeout)
      .WithContext("blob server at " + where_);
}

Status BlobClient::AwaitReply() {
  pb::Response r;
  OGAI_RETURN_IF_ERROR(wire_internal::ReadMessage(conn_->fd(), conn_->mac(), wire_internal::kMaxFrameBytes, &r,
                                                  Clock::now() + opts_.io_timeout)
                           .WithContext("blob server at " + where_));
  if (r.id() != put_id_) return Corruption("blob server at " + where_ + ": reply for the wrong request");
  return wire_internal::FromResponse(r).WithContext("blob server at " + where_);
}

Status BlobClient::PutAwaitRoom() { return AwaitReply(); }
Status BlobClient::PutAwaitDone() { return AwaitReply(); }

Status BlobClient::PutBytes(const void* data, uint64_t size) {
  return wire_internal::SendBulk(conn_->fd(), static_cast<const char*>(data), size, opts_.io_timeout)
      .WithContext("sending '" + put_name_ + "' to the blob server at " + where_);
}

Status BlobClient::PutBytesFromFile(int file_fd, uint64_t offset, uint64_t size) {
  return wire_internal::SendFileBulk(conn_->fd(), file_fd, offset, size, opts_.io_timeout)
      .WithContext("sending '" + put_name_ + "' to the blob server at " + where_);
}

Result<std::optional<Blob>> BlobClient::Get(const std::string& name, int64_t step, uint64_t size) {
  pb::Request req;
  req.mutable_blob_get()->set_name(name);
  req.mutable_blob_get()->set_step(step);
  req.mutable_blob_get()->set_bytes(size);
  OGAI_ASSIGN_OR_RETURN(pb::Response r, conn_->Call(req, Clock::now() + opts_.io_timeout));
  OGAI_RETURN_IF_ERROR(wire_internal::FromResponse(r).WithContext("blob server at " + where_));
  if (!r.found()) return std::optional<Blob>();
  // What we asked for, or the connection is not to be trusted: checked before allocating.
  if (r.blob().name() != name || r.blob().step() != step || r.blob().bytes() != size) {
    return Corruption("blob server at " + where_ + " answered with another value than '" + name + "'");
  }
  Blob b;
  b.size = size;
  b.data = std::shared_ptr<char[]>(new (std::nothrow) char[size == 0 ? 1 : size]);
  if (b.data == nullptr) return Unavailable("no memory for '" + name + "' (" + std::to_string(size) + " bytes)");
  OGAI_RETURN_IF_ERROR(wire_internal::RecvBulk(conn_->fd(), b.data.get(), size, opts_.io_timeout)
                           .WithContext("receiving '" + name + "' from the blob server at " + where_));
  if (Crc32c(b.data.get(), size) != r.blob().crc32c()) {
    return Corruption("'" + name + "' from the blob server at " + where_ + " does not match its CRC-32C");
  }
  return std::optional<Blob>(std::move(b));
}

}  // namespace ogai::store
