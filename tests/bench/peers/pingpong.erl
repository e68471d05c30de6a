#!/usr/bin/env escript
%% pingpong.erl - the Erlang peer of atoll-bench pingpong.local: two
%% processes bounce one message back and forth N times.
%%
%% Usage: escript pingpong.erl [-n MESSAGES] [-s SCHEDULERS]
%% Prints one line on stdout, in atoll-bench's format:
%%   RESULT peer.erlang.pingpong msgs_per_sec=... ns_per_msg=... msgs=...
%% Messages count both directions (two per round trip), as in atoll-bench.
%% SCHEDULERS (default 1) is set with schedulers_online, so the run uses one
%% core like pingpong.local; pin the VM with taskset to choose which.

-mode(compile).

main(Args) ->
    Opts = parse(Args, #{n => 20000000, s => 1}),
    #{n := N, s := S} = Opts,
    erlang:system_flag(schedulers_online, min(S, erlang:system_info(schedulers))),
    RoundTrips = max(1, N div 2),
    Self = self(),
    Ping = spawn_opt(fun() -> ping_wait(Self) end, [link]),
    Pong = spawn_opt(fun() -> pong(Ping) end, [link]),
    Ping ! {go, Pong, RoundTrips},
    receive
        {done, Ns} ->
            Msgs = RoundTrips * 2,
            Secs = Ns / 1.0e9,
            io:format("RESULT peer.erlang.pingpong msgs_per_sec=~b ns_per_msg=~.1f "
                      "msgs=~b schedulers=~b seconds=~.3f otp=~s~n",
                      [round(Msgs / Secs), Ns / Msgs, Msgs, S, Secs,
                       erlang:system_info(otp_release)]),
            halt(0)
    after 120000 ->
        io:format(standard_error, "peer.erlang.pingpong: timed out~n", []),
        halt(1)
    end.

ping_wait(Parent) ->
    receive
        {go, Pong, RoundTrips} ->
            T0 = erlang:monotonic_time(nanosecond),
            ping(Pong, RoundTrips),
            T1 = erlang:monotonic_time(nanosecond),
            Parent ! {done, T1 - T0}
    end.

ping(_Pong, 0) ->
    ok;
ping(Pong, K) ->
    Pong ! ping,
    receive
        pong -> ping(Pong, K - 1)
    end.

pong(Ping) ->
    receive
        ping ->
            Ping ! pong,
            pong(Ping)
    end.

parse([], Opts) ->
    Opts;
parse(["-n", V | Rest], Opts) ->
    parse(Rest, Opts#{n => count(V)});
parse(["-s", V | Rest], Opts) ->
    parse(Rest, Opts#{s => count(V)});
parse([Other | _], _) ->
    io:format(standard_error,
              "peer.erlang.pingpong: unknown argument '~s' "
              "(usage: pingpong.erl [-n MESSAGES] [-s SCHEDULERS])~n", [Other]),
    halt(2).

count(V) ->
    try list_to_integer(V) of
        N when N > 0 -> N;
        _ -> bad(V)
    catch
        error:badarg -> bad(V)
    end.

bad(V) ->
    io:format(standard_error, "peer.erlang.pingpong: bad number '~s'~n", [V]),
    halt(2).
