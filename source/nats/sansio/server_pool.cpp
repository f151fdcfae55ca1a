#include "beamline/nats/sansio/server_pool.hpp"

#include <algorithm>

namespace beamline::nats::sansio
{

server_pool::server_pool(std::vector<server_url> servers, bool randomize, int max_attempts, std::uint64_t seed)
    : randomize_(randomize), max_attempts_(max_attempts), rng_(seed)
{
    for (auto& u : servers)
    {
        server_entry e;
        e.tls_name = u.host;
        e.url = std::move(u);
        servers_.push_back(std::move(e));
    }
    if (randomize_) std::shuffle(servers_.begin(), servers_.end(), rng_);
}

std::optional<server_entry> server_pool::next()
{
    if (servers_.empty()) return std::nullopt;
    std::rotate(servers_.begin(), servers_.begin() + 1, servers_.end());
    return servers_.back();
}

server_entry* server_pool::find(const server_url& u)
{
    auto it = std::find_if(servers_.begin(), servers_.end(),
                           [&](const server_entry& e) { return e.url.host == u.host && e.url.port == u.port; });
    return it == servers_.end() ? nullptr : &*it;
}

void server_pool::failed(const server_url& u, int auth_error)
{
    server_entry* s = find(u);
    if (!s) return;
    if (auth_error != 0 && s->last_auth_error == auth_error)
    {
        remove(u);
        return;
    }
    s->last_auth_error = auth_error;
    ++s->failed_attempts;
    if (max_attempts_ >= 0 && s->failed_attempts >= max_attempts_) remove(u);
}

void server_pool::remove(const server_url& u)
{
    auto it = std::find_if(servers_.begin(), servers_.end(),
                           [&](const server_entry& e) { return e.url.host == u.host && e.url.port == u.port; });
    if (it != servers_.end()) servers_.erase(it);
}

void server_pool::connected(const server_url& u)
{
    server_entry* s = find(u);
    if (!s) return;
    s->failed_attempts = 0;
    s->did_connect = true;
    s->last_auth_error = 0;
}

bool server_pool::known(const server_url& u) const
{
    return std::any_of(servers_.begin(), servers_.end(),
                       [&](const server_entry& e) { return e.url.host == u.host && e.url.port == u.port; });
}

std::size_t server_pool::add_discovered(const std::vector<std::string>& urls, bool tls, const std::string& tls_name)
{
    std::vector<server_entry> added;
    for (const auto& text : urls)
    {
        server_url u;
        if (parse_server_url(text, u)) continue;
        u.tls = u.tls || tls;
        if (known(u)) continue;
        server_entry e;
        e.discovered = true;
        e.tls_name = tls_name.empty() ? u.host : tls_name;
        e.url = std::move(u);
        added.push_back(std::move(e));
    }
    if (randomize_) std::shuffle(added.begin(), added.end(), rng_);
    // New servers go to the front half so that they are tried before the ones just failed.
    servers_.insert(servers_.begin(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    return added.size();
}

milliseconds reconnect_backoff::next_delay()
{
    if (jitter_.count() <= 0) return wait_;
    std::uniform_int_distribution<long long> d(0, jitter_.count() - 1);
    return wait_ + milliseconds(d(rng_));
}

} // namespace beamline::nats::sansio
