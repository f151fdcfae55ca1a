#pragma once
// The table of configuration keys: for each, its section, name, environment variable, help text
// and how to read and render its value. Used by load_config, render_config and config_keys();
// adding a key means adding a field to the struct in config.hpp and one row to this table.

#include "beamline/app/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::app::schema
{

struct key_spec
{
    std::string section; // "nats"
    std::string key;     // "max_pings_out"
    std::string name;    // "nats.max_pings_out"
    std::string env;     // "BEAMLINE_NATS_MAX_PINGS_OUT"
    std::string help;
    bool secret = false;
    /// Stores the value, or returns why it is unacceptable (`"abc" is not a whole number`).
    std::function<std::string(config&, std::string_view)> set;
    /// The value as the file would spell it.
    std::function<std::string(const config&)> get;
    /// The value as it may be shown to an operator or written to a log.
    std::function<std::string(const config&)> show;
};

/// Every key, grouped by section in the order nats, router, http, log, jetstream, backpressure.
const std::vector<key_spec>& keys();
const key_spec* find(std::string_view name);
const key_spec* find_env(std::string_view env_name);
/// The sections of the table, in its order: "nats", "router", "http", "log".
const std::vector<std::string>& sections();
bool is_section(std::string_view section);

} // namespace beamline::app::schema
