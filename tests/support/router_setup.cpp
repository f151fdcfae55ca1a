#include "router_setup.hpp"

#include <boost/test/unit_test.hpp>

namespace beamline::test
{
using namespace std::chrono_literals;

router_setup::router_setup(nats_server_options server_options,
                           const std::function<void(const policy_dir&)>& write_policies,
                           const env_list& extra_env)
    : server(std::move(server_options)), extra(extra_env)
{
    write_policies(policies);
    router.emplace(env());
    caller.emplace(options_for(server));
    BOOST_TEST_REQUIRE(caller->connected(), caller->error());
}

env_list router_setup::env() const
{
    auto out = router_nats_env(server);
    out.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", policies.path().string());
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

received_message router_setup::ask(const std::string& body, const header_list& headers)
{
    natsStatus failure = NATS_OK;
    auto reply = caller->request(decide_subject, body, 5s, &failure, headers);
    BOOST_TEST_REQUIRE(reply.has_value(), "no reply: " << natsStatus_GetText(failure));
    return *reply;
}

boost::json::object router_setup::ask_json(const std::string& body, const header_list& headers)
{
    auto reply = ask(body, headers);
    BOOST_TEST_INFO("reply: " << reply.data.substr(0, 500));
    auto v = boost::json::parse(reply.data);
    BOOST_TEST_REQUIRE(v.is_object());
    return v.as_object();
}

} // namespace beamline::test
