#include "beamline/nats/sansio/run_fsm.hpp"

#include "beamline/nats/error.hpp"

namespace beamline::nats::sansio
{
namespace
{
/// The server_errc of an authentication failure, else 0 (the pool's "same auth error twice").
int auth_error_of(std::error_code ec) noexcept
{
    return ec.category() == server_category() && is_auth_error(static_cast<server_errc>(ec.value())) ? ec.value() : 0;
}
} // namespace

run_fsm::run_fsm(server_pool pool, reconnect_backoff backoff, run_policy policy)
    : pool_(std::move(pool)), backoff_(std::move(backoff)), policy_(policy)
{
}

run_action run_fsm::pick()
{
    if (pool_.empty())
    {
        run_action a{run_action::closed};
        a.pool_exhausted = true;
        return a;
    }
    if (tried_ >= pool_.size())
    {
        tried_ = 0;
        run_action a{run_action::sleep};
        if (!first_outcome_reported_)
        {
            first_outcome_reported_ = true;
            a.report_first_outcome = true;
            if (!policy_.retry_on_failed_connect)
            {
                a.what = run_action::closed;
                return a;
            }
        }
        if (ever_connected_ && !policy_.allow_reconnect)
        {
            a.what = run_action::closed;
            return a;
        }
        a.delay = backoff_.next_delay();
        return a;
    }
    current_ = *pool_.next();
    ++tried_;
    run_action a{run_action::connect};
    a.reconnecting = ever_connected_;
    return a;
}

run_action run_fsm::on_connect_result(std::error_code ec, const std::vector<std::string>& connect_urls)
{
    if (ec)
    {
        pool_.failed(current_.url, auth_error_of(ec));
        return pick();
    }
    pool_.connected(current_.url);
    connected_tls_name_ = current_.tls_name;
    tried_ = 0;
    if (!policy_.ignore_discovered_servers)
        pool_.add_discovered(connect_urls, policy_.tls_wanted || current_.url.tls, current_.tls_name);
    return {run_action::resubscribe};
}

run_action run_fsm::on_resubscribed(std::error_code ec)
{
    if (ec) return pick();
    run_action a{run_action::run};
    a.reconnecting = ever_connected_;
    a.report_first_outcome = !first_outcome_reported_;
    ever_connected_ = true;
    first_outcome_reported_ = true;
    return a;
}

run_action run_fsm::on_connection_lost(std::error_code ec)
{
    // An auth error that ends a live connection counts against its server like a refused attempt.
    if (int auth = auth_error_of(ec)) pool_.failed(current_.url, auth);
    if (!policy_.allow_reconnect) return {run_action::closed};
    return pick();
}

void run_fsm::on_servers_announced(const std::vector<std::string>& urls)
{
    if (policy_.ignore_discovered_servers || urls.empty()) return;
    pool_.add_discovered(urls, policy_.tls_wanted, connected_tls_name_);
}

} // namespace beamline::nats::sansio
