// Names used by every coroutine on the data path. Errors come back as values
// (as_tuple), never as exceptions.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace keygate::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <class T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

}  // namespace keygate::proxy
