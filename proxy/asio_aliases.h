// Names used by every coroutine on the data path. Errors come back as values
// (as_tuple), never as exceptions.
//
// Everything runs on io_contexts, so coroutines, sockets and timers name the io_context's
// executor type instead of the default any_io_executor: the type-erased executor costs an
// allocation-free but measurable copy, destroy and indirect call on every operation.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace keygate::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Timer = asio::steady_timer::rebind_executor<Executor>::other;
using Resolver = tcp::resolver::rebind_executor<Executor>::other;
template <class T = void>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable{};
inline constexpr auto nothrow_awaitable = asio::as_tuple(use_awaitable);

}  // namespace keygate::proxy
