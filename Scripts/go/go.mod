module weftgobench

go 1.19
