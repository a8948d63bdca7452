package astra_test

import (
	"fmt"

	"github.com/terrarium-rl/terrarium/internal/astra"
)

func ExampleParseCall() {
	c, err := astra.ParseCall(`airport_statistics(iata_code='CBR', metric="top_airline", year=2023, tags=['a', None])`)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Func)
	for _, kw := range c.Keywords {
		fmt.Printf("%s = %s\n", kw.Name, kw.Value)
	}
	// Output:
	// airport_statistics
	// iata_code = "CBR"
	// metric = "top_airline"
	// year = 2023
	// tags = ["a",null]
}
