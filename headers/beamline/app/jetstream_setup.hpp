#pragma once
// The streams the router needs (SPEC §10) and how it makes sure they are there at start: created
// when missing, updated when the difference is one JetStream allows, and otherwise reported field
// by field instead of silently used.

#include "beamline/nats/jetstream/api_types.hpp"
#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace beamline::app
{

struct jetstream_names
{
    std::string results_stream = "BEAMLINE_RESULTS";
    std::string results_subject = "caf.exec.result.v1";
    std::string usage_stream = "BEAMLINE_USAGE";
    std::string usage_subject = "beamline.usage.v1.metered";
    std::string dlq_stream = "BEAMLINE_DLQ";
    std::string results_dlq_subject = "caf.exec.result.v1.dlq";
    std::string decide_dlq_subject = "beamline.router.v1.decide.dlq";
    std::string consumer = "router-results";
    int replicas = 1;
};

/// The three streams of SPEC §10 under `names`.
std::vector<nats::jetstream::stream_config> router_streams(const jetstream_names& names);

/// How an existing stream differs from the one wanted.
struct stream_difference
{
    std::vector<std::string> updatable;   ///< fields an update can change (subjects, limits)
    std::vector<std::string> conflicting; ///< fields it cannot (storage, retention)
    bool empty() const noexcept { return updatable.empty() && conflicting.empty(); }
};
stream_difference compare_stream(const nats::jetstream::stream_config& want,
                                 const nats::jetstream::stream_config& have);

struct bootstrap_report
{
    std::vector<std::string> created;
    std::vector<std::string> updated;
    std::vector<std::string> problems; ///< one sentence each; empty when every stream is right
    bool ok() const noexcept { return problems.empty(); }
    std::string summary() const;
};

/// Creates or updates each stream; `bootstrap=false` only checks and reports.
boost::asio::awaitable<bootstrap_report> ensure_streams(nats::jetstream::context& js,
                                                       std::vector<nats::jetstream::stream_config> wanted,
                                                       bool bootstrap);

} // namespace beamline::app
