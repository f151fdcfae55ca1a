#include "beamline/router/decide_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace beamline::router
{
void append_json_value(std::string& out, const boost::json::value& v)
{
    switch (v.kind())
    {
    case boost::json::kind::null:
        out.append("null");
        return;
    case boost::json::kind::bool_:
        out.append(v.get_bool() ? "true" : "false");
        return;
    case boost::json::kind::int64:
        common::append_json_integer(out, v.get_int64());
        return;
    case boost::json::kind::uint64:
        common::append_json_integer(out, v.get_uint64());
        return;
    case boost::json::kind::double_:
        append_json_number(out, v.get_double());
        return;
    case boost::json::kind::string:
        append_json_string(out, v.get_string());
        return;
    case boost::json::kind::array:
    {
        out.push_back('[');
        bool first = true;
        for (const auto& element : v.get_array())
        {
            if (!first) out.push_back(',');
            first = false;
            append_json_value(out, element);
        }
        out.push_back(']');
        return;
    }
    case boost::json::kind::object:
    {
        out.push_back('{');
        bool first = true;
        for (const auto& member : v.get_object())
        {
            if (!first) out.push_back(',');
            first = false;
            append_json_string(out, member.key());
            out.push_back(':');
            append_json_value(out, member.value());
        }
        out.push_back('}');
        return;
    }
    }
}

} // namespace beamline::router
