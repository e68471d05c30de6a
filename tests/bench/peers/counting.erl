#!/usr/bin/env escript
%% counting.erl - the Erlang peer of atoll-bench counting: one process sends
%% N integers to a counter process, then asks for the count (Savina counting).
%%
%% Usage: escript counting.erl [-n MESSAGES] [-s SCHEDULERS]
%% Prints one line on stdout, in atoll-bench's format:
%%   RESULT peer.erlang.counting msgs_per_sec=... ns_per_msg=... msgs=...
%% The sender does not wait for the counter: the counter's mailbox holds what
%% it has not counted yet, as in Savina (atoll-bench counting --window 0).

-mode(compile).

main(Args) ->
    #{n := N, s := S} = parse(Args, #{n => 20000000, s => 1}),
    erlang:system_flag(schedulers_online, min(S, erlang:system_info(schedulers))),
    Self = self(),
    Counter = spawn_opt(fun() -> count(0) end, [link]),
    T0 = erlang:monotonic_time(nanosecond),
    spawn_opt(fun() -> send(Counter, N), Counter ! {total, Self} end, [link]),
    receive
        {count, Count} ->
            Ns = erlang:monotonic_time(nanosecond) - T0,
            Count =:= N orelse halt(1),
            Secs = Ns / 1.0e9,
            io:format("RESULT peer.erlang.counting msgs_per_sec=~b ns_per_msg=~.1f "
                      "msgs=~b schedulers=~b seconds=~.3f otp=~s~n",
                      [round(N / Secs), Ns / N, N, S, Secs,
                       erlang:system_info(otp_release)]),
            halt(0)
    after 120000 ->
        io:format(standard_error, "peer.erlang.counting: timed out~n", []),
        halt(1)
    end.

send(_Counter, 0) ->
    ok;
send(Counter, K) ->
    Counter ! K,
    send(Counter, K - 1).

count(C) ->
    receive
        {total, From} -> From ! {count, C};
        _ -> count(C + 1)
    end.

parse([], Opts) ->
    Opts;
parse(["-n", V | Rest], Opts) ->
    parse(Rest, Opts#{n => number(V)});
parse(["-s", V | Rest], Opts) ->
    parse(Rest, Opts#{s => number(V)});
parse([Other | _], _) ->
    io:format(standard_error,
              "peer.erlang.counting: unknown argument '~s' "
              "(usage: counting.erl [-n MESSAGES] [-s SCHEDULERS])~n", [Other]),
    halt(2).

number(V) ->
    try list_to_integer(V) of
        N when N > 0 -> N;
        _ -> bad(V)
    catch
        error:badarg -> bad(V)
    end.

bad(V) ->
    io:format(standard_error, "peer.erlang.counting: bad number '~s'~n", [V]),
    halt(2).
