#!/usr/bin/env escript
%% threadring.erl - the Erlang peer of atoll-bench threadring (Savina thread
%% ring): 503 processes in a ring pass one token N times.
%%
%% Usage: escript threadring.erl [-n HOPS] [-a ACTORS] [-s SCHEDULERS]
%% Prints one line on stdout, in atoll-bench's format:
%%   RESULT peer.erlang.threadring msgs_per_sec=... ns_per_msg=... msgs=...
%% SCHEDULERS (default 1) is set with schedulers_online; compare with
%% "atoll-bench threadring -r 1" at 1, with the default (one reactor per CPU)
%% at 2.

-mode(compile).

main(Args) ->
    Opts = parse(Args, #{n => 20000000, a => 503, s => 1}),
    #{n := Hops, a := Actors, s := S} = Opts,
    erlang:system_flag(schedulers_online, min(S, erlang:system_info(schedulers))),
    Self = self(),
    Pids = [spawn_opt(fun() -> wait_next(Self) end, [link])
            || _ <- lists:seq(1, Actors)],
    Nexts = tl(Pids) ++ [hd(Pids)],
    lists:foreach(fun({P, Next}) -> P ! {next, Next} end, lists:zip(Pids, Nexts)),
    T0 = erlang:monotonic_time(nanosecond),
    hd(Pids) ! {token, Hops},
    receive
        done ->
            T1 = erlang:monotonic_time(nanosecond),
            Ns = T1 - T0,
            Secs = Ns / 1.0e9,
            io:format("RESULT peer.erlang.threadring msgs_per_sec=~b ns_per_msg=~.1f "
                      "msgs=~b actors=~b schedulers=~b seconds=~.3f otp=~s~n",
                      [round(Hops / Secs), Ns / Hops, Hops, Actors, S, Secs,
                       erlang:system_info(otp_release)]),
            halt(0)
    after 120000 ->
        io:format(standard_error, "peer.erlang.threadring: timed out~n", []),
        halt(1)
    end.

wait_next(Parent) ->
    receive
        {next, Next} -> ring(Next, Parent)
    end.

%% The token carries the hops left; whoever sees 0 tells the parent.
ring(Next, Parent) ->
    receive
        {token, 0} ->
            Parent ! done,
            ring(Next, Parent);
        {token, K} ->
            Next ! {token, K - 1},
            ring(Next, Parent)
    end.

parse([], Opts) ->
    Opts;
parse(["-n", V | Rest], Opts) ->
    parse(Rest, Opts#{n => count(V)});
parse(["-a", V | Rest], Opts) ->
    parse(Rest, Opts#{a => count(V)});
parse(["-s", V | Rest], Opts) ->
    parse(Rest, Opts#{s => count(V)});
parse([Other | _], _) ->
    io:format(standard_error,
              "peer.erlang.threadring: unknown argument '~s' "
              "(usage: threadring.erl [-n HOPS] [-a ACTORS] [-s SCHEDULERS])~n",
              [Other]),
    halt(2).

count(V) ->
    try list_to_integer(V) of
        N when N > 0 -> N;
        _ -> bad(V)
    catch
        error:badarg -> bad(V)
    end.

bad(V) ->
    io:format(standard_error, "peer.erlang.threadring: bad number '~s'~n", [V]),
    halt(2).
