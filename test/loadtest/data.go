package loadtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Shape of the generated directory: two tenants, each with numbersPer
// published numbers, operatorsPer operators (the first three are the chain)
// and Customers customers, all but every tenth assigned a job whose operator
// is spread over the roster, so the load reaches many (number, operator)
// pairs as real traffic does.
const (
	numbersPer   = 12
	operatorsPer = 12
	chainLen     = 3
)

// tenant is a generated tenant as the harness needs it.
type tenant struct {
	ID        string
	Numbers   []string
	Chain     []string
	Fallback  string            // phone
	Operators map[string]string // phone → operator id
	Customers []string          // phones of known customers
}

// directory is the generated data: the tenants and the data file.
type directory struct {
	Tenants []tenant
	// byNumber maps a published number to its tenant's index.
	byNumber map[string]int
	File     []byte
}

func phone(prefix string, n int) string { return fmt.Sprintf("%s%04d", prefix, n) }

// newDirectory generates two tenants ("alpha", "bravo") with the window.
func newDirectory(customers int, window time.Duration) directory {
	type op struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	type cust struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	type job struct {
		ID       string `json:"id"`
		Customer string `json:"customer"`
		State    string `json:"state"`
		Operator string `json:"operator"`
	}
	type contact struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	type tenantJSON struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Numbers    []string `json:"numbers"`
		AckTimeout string   `json:"ack_timeout"`
		Chain      []string `json:"chain"`
		Repeat     int      `json:"repeat"`
		Fallback   contact  `json:"fallback"`
		TwoWay     bool     `json:"two_way"`
		Operators  []op     `json:"operators"`
		Customers  []cust   `json:"customers"`
		Jobs       []job    `json:"jobs"`
	}
	d := directory{byNumber: map[string]int{}}
	var file struct {
		Tenants []tenantJSON `json:"tenants"`
	}
	for ti, id := range []string{"alpha", "bravo"} {
		// Area codes keep the tenants' numbers apart: 1619 alpha, 1858 bravo.
		area := []string{"+1619", "+1858"}[ti]
		t := tenant{ID: id, Operators: map[string]string{}, Fallback: phone(area+"599", 9)}
		tj := tenantJSON{ID: id, Name: "Load " + id, AckTimeout: window.String(), TwoWay: true,
			Fallback: contact{Name: "Office " + id, Phone: t.Fallback}}
		for i := range numbersPer {
			n := phone(area+"555", i)
			t.Numbers = append(t.Numbers, n)
			d.byNumber[n] = ti
		}
		tj.Numbers = t.Numbers
		for i := range operatorsPer {
			o := op{ID: fmt.Sprintf("%s_op%02d", id, i+1), Name: fmt.Sprintf("Operator %d", i+1), Phone: phone(area+"556", i)}
			t.Operators[o.Phone] = o.ID
			tj.Operators = append(tj.Operators, o)
			if i < chainLen {
				t.Chain = append(t.Chain, o.ID)
			}
		}
		tj.Chain = t.Chain
		for i := range customers {
			c := cust{ID: fmt.Sprintf("c%05d", i+1), Name: fmt.Sprintf("Customer %s %d", id, i+1),
				Phone: fmt.Sprintf("%s7%06d", area, i)}
			t.Customers = append(t.Customers, c.Phone)
			tj.Customers = append(tj.Customers, c)
			if i%10 != 9 {
				tj.Jobs = append(tj.Jobs, job{ID: fmt.Sprintf("j%05d", i+1), Customer: c.ID, State: "en_route",
					Operator: tj.Operators[i%operatorsPer].ID})
			}
		}
		d.Tenants = append(d.Tenants, t)
		file.Tenants = append(file.Tenants, tj)
	}
	d.File, _ = json.MarshalIndent(file, "", " ") // plain structs always marshal
	return d
}
