package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// worldStream separates the world's random stream from the episode's
// (ep.Rand is seeded with the task as its stream).
const worldStream = 0x686f706c6f6f6b75 // "hoplooku"

// Name pools are disjoint word sets, so that no answer can occur as a whole
// token sequence inside another entity's name or value.
var (
	cityNames = []string{"Aldermoor", "Brackwater", "Caldris", "Dunmere", "Eastfold", "Farrowgate", "Glenhollow",
		"Harrowby", "Ivelport", "Jessamine", "Kelderwick", "Lowenstad", "Marrowdale", "Norhaven", "Orrinsford",
		"Pellucid", "Quarrytown", "Rookhaven", "Saltmarsh", "Thistlemoor"}
	countries  = []string{"Arvenia", "Belmark", "Corvath", "Dessaria", "Elyndor", "Froskland"}
	firstNames = []string{"Ada", "Bruno", "Celia", "Dorian", "Esme", "Felix", "Greta", "Hamish", "Ines", "Jasper",
		"Katya", "Leopold", "Mirela", "Nestor", "Odile", "Percival", "Quintus", "Rosalind", "Soren", "Tamsin"}
	lastNames = []string{"Ashdown", "Blackwood", "Carrow", "Delacourt", "Everly", "Fairbairn", "Greaves", "Holloway",
		"Ingram", "Jessop", "Kettering", "Lockhart", "Merriweather", "Nightingale", "Oakes", "Pendleton"}
	companyHeads = []string{"Amberline", "Bluecrest", "Copperleaf", "Driftwood", "Emberfall", "Foxglove", "Granitebay",
		"Halcyon", "Ironbark", "Juniper", "Kingfisher", "Lumenroot", "Moonstone", "Nimbus"}
	companyTails = []string{"Labs", "Works", "Group", "Holdings", "Systems", "Motors", "Partners"}
	industries   = []string{"biotech", "logistics", "textiles", "aerospace", "agriculture", "publishing", "mining", "retail", "robotics", "shipping"}
)

// entity is a person, company or city. Links (birth_city, founder...) hold
// another *entity; values hold an int or a string.
type entity struct {
	kind   string
	name   string
	fields map[string]any
}

// fieldOrder lists each kind's fields as the lookup tools return them.
var fieldOrder = map[string][]string{
	"person":  {"birth_city", "birth_year", "employer"},
	"company": {"founder", "headquarters", "founded_year", "industry", "employees"},
	"city":    {"country", "population", "founded_year", "mayor"},
}

// relation links an entity of one kind to another, with the phrase that
// describes the target in a question.
type relation struct {
	from, field, to, phrase string
}

var relations = []relation{
	{"person", "birth_city", "city", "the city where %s was born"},
	{"person", "employer", "company", "the company %s works for"},
	{"company", "founder", "person", "the founder of %s"},
	{"company", "headquarters", "city", "the city where %s is headquartered"},
	{"city", "mayor", "person", "the mayor of %s"},
}

// attribute is a terminal fact. Comparable attributes also make "which of
// the two" questions; less says the smaller value wins.
type attribute struct {
	kind, field, question, compare string
	less                           bool
}

var attributes = []attribute{
	{"person", "birth_year", "In what year was %s born?", "Who was born earlier: %s or %s?", true},
	{"company", "founded_year", "In what year was %s founded?", "Which company was founded earlier: %s or %s?", true},
	{"company", "employees", "How many employees does %s have?", "Which company has more employees: %s or %s?", false},
	{"company", "industry", "What industry is %s in?", "", false},
	{"city", "population", "What is the population of %s?", "Which city has the larger population: %s or %s?", false},
	{"city", "country", "In which country is %s?", "", false},
	{"city", "founded_year", "In what year was %s founded?", "Which city was founded earlier: %s or %s?", true},
}

type world struct {
	byKind map[string][]*entity
	byName map[string]*entity // kind + ":" + lower-case name
}

func (w *world) find(kind, name string) *entity {
	return w.byName[kind+":"+strings.ToLower(strings.TrimSpace(name))]
}

// newWorld builds the world of a seed: 12 cities, 12 companies, 30 people.
// Every task of a seed asks about the same world.
func newWorld(seed uint64) *world {
	r := rand.New(rand.NewPCG(seed, worldStream))
	w := &world{byKind: map[string][]*entity{}, byName: map[string]*entity{}}
	add := func(kind, name string) *entity {
		e := &entity{kind: kind, name: name, fields: map[string]any{}}
		w.byKind[kind] = append(w.byKind[kind], e)
		w.byName[kind+":"+strings.ToLower(name)] = e
		return e
	}
	pick := func(pool []string) string { return pool[r.IntN(len(pool))] }
	for _, i := range r.Perm(len(cityNames))[:12] {
		c := add("city", cityNames[i])
		c.fields["country"] = pick(countries)
		c.fields["population"] = 20_000 + r.IntN(4_980_000)
		c.fields["founded_year"] = 1100 + r.IntN(800)
	}
	cities := w.byKind["city"]
	for _, n := range r.Perm(len(firstNames) * len(lastNames))[:30] {
		p := add("person", firstNames[n/len(lastNames)]+" "+lastNames[n%len(lastNames)])
		p.fields["birth_city"] = cities[r.IntN(len(cities))]
		p.fields["birth_year"] = 1930 + r.IntN(56)
	}
	people := w.byKind["person"]
	for i, h := range r.Perm(len(companyHeads))[:12] {
		c := add("company", companyHeads[h]+" "+pick(companyTails))
		founder := people[i] // distinct founders
		c.fields["founder"] = founder
		c.fields["headquarters"] = cities[r.IntN(len(cities))]
		c.fields["founded_year"] = founder.fields["birth_year"].(int) + 22 + r.IntN(19)
		c.fields["industry"] = pick(industries)
		c.fields["employees"] = 200 + r.IntN(249_800)
	}
	companies := w.byKind["company"]
	for _, p := range people {
		p.fields["employer"] = companies[r.IntN(len(companies))]
	}
	for i, c := range cities {
		c.fields["mayor"] = people[len(people)-1-i] // distinct mayors
	}
	return w
}

// record is a lookup result: the entity's name and the asked field, or all
// fields. Links are rendered as names.
func (e *entity) record(field string) map[string]any {
	out := map[string]any{"name": e.name}
	for _, f := range fieldOrder[e.kind] {
		if field == "all" || field == f {
			out[f] = e.value(f)
		}
	}
	return out
}

func (e *entity) value(field string) any {
	if l, ok := e.fields[field].(*entity); ok {
		return l.name
	}
	return e.fields[field]
}

func (e *entity) text(field string) string { return fmt.Sprint(e.value(field)) }
