#pragma once
// What every tenant's breakers look like, readable from any thread. The breakers themselves live
// in each tenant's state and only its strand touches them; after every change the strand writes
// the breaker's snapshot here, so listing and metrics never wait for (or queue on) a strand and
// the decision path never takes this mutex.

#include "beamline/router/circuit_breaker.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beamline::router
{

class breaker_status_table
{
public:
    using clock = circuit_breaker::clock;

    struct row
    {
        std::string tenant;
        std::string provider;
        circuit_breaker::snapshot state;
    };

    /// The strand of `tenant` wrote this snapshot at `now`. `owner` names the tenant's state it
    /// came from (a later state for the same tenant replaces the rows of an evicted one).
    void update(std::string_view tenant, std::string_view provider, const void* owner,
                const circuit_breaker::snapshot& s, clock::time_point now);
    /// The tenant's state `owner` is gone: its rows go with it (not a newer state's).
    void forget(std::string_view tenant, const void* owner);

    /// The rows as of `now` (an open breaker whose timeout has passed reads half_open), sorted by
    /// tenant and provider; `tenant` empty: all.
    std::vector<row> list(std::string_view tenant, clock::time_point now) const;
    /// Tenants with at least one row.
    std::vector<std::string> tenants() const;

private:
    struct stored
    {
        const void* owner = nullptr;
        circuit_breaker::snapshot state{};
        clock::time_point taken{};
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, stored, std::less<>> rows_;
};

} // namespace beamline::router
