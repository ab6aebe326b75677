module unblocked/peers/go-net-http

go 1.19
