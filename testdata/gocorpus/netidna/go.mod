module example.com/gocorpus/netidna

go 1.22

require golang.org/x/net v0.17.0

require golang.org/x/text v0.13.0 // indirect
