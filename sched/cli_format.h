// The CLI's tables (ogai jobs, nodes, quota, show): text from the API's messages.
#pragma once

#include <ctime>
#include <string>

#include "proto/sched.pb.h"

namespace ogai::sched {

std::string FormatJobs(const pb::JobsReply& r, std::time_t now);
std::string FormatJob(const pb::JobInfo& j);
std::string FormatNodes(const pb::NodesReply& r);
std::string FormatQuota(const pb::QuotaReply& r);

}  // namespace ogai::sched
